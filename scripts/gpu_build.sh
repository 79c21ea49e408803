#!/usr/bin/env bash
# Builds, on this (GPU-less) machine, the CUDA test and bench binaries for sm_90 into .gpu/build,
# to be carried to the lent GPU machine by the device tool (carry: [".gpu"]), where
# scripts/gpu_verify.sh runs them. .gpu/ is git-ignored.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
cmake -S . -B .gpu/build -G Ninja -DCMAKE_BUILD_TYPE=Release -DDETFORGE_CUDA=ON \
  -DCMAKE_CUDA_ARCHITECTURES=90 -DDETFORGE_CPU_ARCH=x86-64-v3
cmake --build .gpu/build --parallel "$(nproc)" --target detforge_tests detforge_bench detforge_cli
# Only what runs there travels (64 MiB limit): binaries, the library and the runtime deps that the
# GPU machine lacks (oneDNN, gomp from Debian).
mkdir -p .gpu/bin
cp .gpu/build/tests/detforge_tests .gpu/build/bench/detforge_bench .gpu/build/detforge .gpu/bin/
cp -L .gpu/build/libdetforge.so.0 .gpu/bin/
for lib in libdnnl.so.2 libgomp.so.1 libbenchmark.so.1 libgtest.so.1.12.1 libgtest_main.so.1.12.1; do
  p=$(ldconfig -p | awk -v l="$lib" '$1==l {print $NF; exit}')
  [[ -n "$p" ]] && cp -L "$p" .gpu/bin/
done
du -sh .gpu/bin

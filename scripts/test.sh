#!/usr/bin/env bash
# Installs what is missing, builds (CUDA code compiled when nvcc exists) and runs every test.
#   BUILD_DIR (default build), DETFORGE_CUDA (AUTO), CUDA_ARCHS (default: one arch, 90)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DDETFORGE_CUDA="${DETFORGE_CUDA:-AUTO}" -DCMAKE_CUDA_ARCHITECTURES="${CUDA_ARCHS:-90}"
cmake --build "$BUILD_DIR" --parallel "$(nproc)"
cd "$BUILD_DIR"
# ctest runs $(nproc) test processes, each with $(nproc) OpenMP threads: passive waiting keeps
# idle threads from spinning on the cores the other process needs (10x slower tests otherwise).
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
ctest --output-on-failure --parallel "$(nproc)" --timeout 900

#!/usr/bin/env bash
# The README's main-job command: installs what is missing, builds, and runs the main job.
# Until the Joint-DetNAS search lands (docs/DECISIONS.md, D6) the main job is the engine demo:
# a ResNet-18-shaped network built from detforge's ops trains on a fixed synthetic batch and
# prints its loss per step and the step time.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install_deps.sh
BUILD_DIR=${BUILD_DIR:-build}
cmake -S . -B "$BUILD_DIR" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DDETFORGE_CUDA="${DETFORGE_CUDA:-AUTO}" -DCMAKE_CUDA_ARCHITECTURES="${CUDA_ARCHS:-90}"
cmake --build "$BUILD_DIR" --parallel "$(nproc)" --target detforge_cli
"$BUILD_DIR/detforge" demo "$@"

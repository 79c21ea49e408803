#!/usr/bin/env bash
# CPU build under AddressSanitizer + UndefinedBehaviorSanitizer (+ LeakSanitizer), then every test.
#   BUILD_DIR (default build-asan); extra arguments go to detforge_tests (e.g. --gtest_filter=...).
# UBSan halts on the first error; LSan reports leaks at exit. No suppressions are needed (libgomp's
# thread pool produced no leak reports with GCC 12); never suppress detforge's own leaks.
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD_DIR=${BUILD_DIR:-build-asan}
cmake -S . -B "$BUILD_DIR" -G Ninja -DDETFORGE_CUDA=OFF -DDETFORGE_SANITIZE=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$BUILD_DIR" --target detforge_tests detforge_cli --parallel "$(nproc)"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-2}
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:strict_string_checks=1:detect_stack_use_after_return=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
"./$BUILD_DIR/tests/detforge_tests" "$@"

#!/usr/bin/env bash
# Runs on the lent GPU machine (device tool), from the repository root, after scripts/gpu_build.sh
# here and with carry [".gpu"]:
#   CUDA tests, compute-sanitizer memcheck on them, the benchmarks (JSON) and the PyTorch
#   side-by-side comparisons, all written under $OUT.
set -uo pipefail
OUT=${OUT:-/tmp/gpu_out}
mkdir -p "$OUT"
BIN=$PWD/.gpu/bin
# cuDNN/cuBLAS may live in the CUDA toolkit or in the Python wheels' nvidia/*/lib folders.
libdirs=$(python3 - <<'PY' 2>/dev/null
import glob, os, site
dirs = set()
for base in site.getsitepackages() + [site.getusersitepackages()]:
    for d in glob.glob(os.path.join(base, "nvidia", "*", "lib")):
        dirs.add(d)
print(":".join(sorted(dirs)))
PY
)
export LD_LIBRARY_PATH="$BIN:/usr/local/cuda/lib64:${libdirs}:${LD_LIBRARY_PATH:-}"
{
  echo "date: $(date -u +%FT%TZ)"
  echo "commit: $(git rev-parse --short HEAD 2>/dev/null || cat .gpu/COMMIT 2>/dev/null)"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader
  nproc
} > "$OUT/machine.txt"
cd "$BIN"
./detforge_tests --gtest_filter='*Cuda*:*CUDA*:*Gpu*' --gtest_output=json:"$OUT/cuda_tests.json" \
  > "$OUT/cuda_tests.log" 2>&1; echo "cuda tests rc=$?" >> "$OUT/summary.txt"
./detforge_tests > "$OUT/all_tests.log" 2>&1; echo "all tests rc=$?" >> "$OUT/summary.txt"
if command -v compute-sanitizer >/dev/null || [[ -x /usr/local/cuda/bin/compute-sanitizer ]]; then
  CS=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
  "$CS" --tool memcheck --error-exitcode 9 ./detforge_tests --gtest_filter='*Cuda*' \
    > "$OUT/memcheck.log" 2>&1; echo "memcheck rc=$?" >> "$OUT/summary.txt"
fi
./detforge_bench --benchmark_out="$OUT/bench.json" --benchmark_out_format=json \
  --benchmark_min_time=0.2 > "$OUT/bench.log" 2>&1; echo "bench rc=$?" >> "$OUT/summary.txt"
cd - >/dev/null
for s in bench/compare/*_gpu.py; do
  [[ -f "$s" ]] || continue
  PYTHONUNBUFFERED=1 python3 "$s" --bin "$BIN" > "$OUT/$(basename "$s" .py).txt" 2>&1
  echo "$s rc=$?" >> "$OUT/summary.txt"
done
tail -n 3 "$OUT"/*.log
cat "$OUT/summary.txt"

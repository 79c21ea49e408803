// Indexing family throughput: sort of 1M floats, topk k=100 of 100k, gather, cat (CPU).
#include <benchmark/benchmark.h>

#include "autograd/indexing.h"

namespace detforge {
namespace {

Tensor rand_f32(int64_t n, uint64_t seed) {
  Tensor t = Tensor::empty({n});
  float* p = t.data<float>();
  uint64_t s = seed * 6364136223846793005ULL + 1442695040888963407ULL;
  for (int64_t i = 0; i < n; ++i) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    p[i] = static_cast<float>((s >> 40) & 0xFFFFFF) / 16777216.0f - 0.5f;
  }
  return t;
}

void BM_Sort1M(benchmark::State& st) {
  const int64_t n = st.range(0);
  Tensor x = rand_f32(n, 1);
  for (auto _ : st) benchmark::DoNotOptimize(sort(x, 0).first);
  st.counters["Melem/s"] =
      benchmark::Counter(double(n) / 1e6, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Sort1M)->Arg(1 << 20)->Unit(benchmark::kMillisecond);

void BM_Topk(benchmark::State& st) {
  const int64_t n = st.range(0), k = st.range(1);
  Tensor x = rand_f32(n, 2);
  for (auto _ : st) benchmark::DoNotOptimize(topk(x, k).first);
  st.counters["GB/s"] = benchmark::Counter(4.0 * n, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Topk)->Args({100000, 100})->Unit(benchmark::kMicrosecond);

// gather along dim 1 of [rows, cols] with a [rows, cols] index: bytes = out + index + in reads.
void BM_Gather(benchmark::State& st) {
  const int64_t rows = st.range(0), cols = st.range(1);
  Tensor x = rand_f32(rows * cols, 3).view({rows, cols});
  std::vector<int64_t> iv(rows * cols);
  for (int64_t i = 0; i < rows * cols; ++i) iv[i] = (i * 7919) % cols;
  Tensor idx = Tensor::from_vector(iv, {rows, cols});
  for (auto _ : st) benchmark::DoNotOptimize(gather(x, 1, idx));
  st.counters["GB/s"] = benchmark::Counter(double(rows * cols) * (4 + 8 + 4),
                                           benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Gather)->Args({1024, 1024})->Unit(benchmark::kMicrosecond);

// cat of 4 [256, 64, 32] tensors along dim 1: bytes = read + write.
void BM_Cat(benchmark::State& st) {
  std::vector<Tensor> parts;
  for (int i = 0; i < 4; ++i) parts.push_back(rand_f32(256 * 64 * 32, 10 + i).view({256, 64, 32}));
  for (auto _ : st) benchmark::DoNotOptimize(cat(parts, 1));
  st.counters["GB/s"] = benchmark::Counter(2.0 * 4 * 256 * 64 * 32 * 4,
                                           benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Cat)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace detforge

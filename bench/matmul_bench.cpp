// matmul (square 512/1024/2048) and linear (classifier / MLP shapes), GFLOP/s.
#include <benchmark/benchmark.h>

#include "autograd/grad_mode.h"
#include "autograd/linalg.h"

namespace detforge {
namespace {

void BM_MatmulSquare(benchmark::State& st) {
  int64_t n = st.range(0);
  NoGradGuard ng;
  Tensor a = Tensor::full({n, n}, 0.5), b = Tensor::full({n, n}, 0.25);
  for (auto _ : st) benchmark::DoNotOptimize(matmul(a, b));
  st.counters["GFLOP/s"] =
      benchmark::Counter(2.0 * n * n * n * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_MatmulSquare)
    ->Arg(512)
    ->Arg(1024)
    ->Arg(2048)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// linear(input [rows, in], weight [out, in], bias [out]): args rows, in, out.
void BM_Linear(benchmark::State& st) {
  int64_t rows = st.range(0), in = st.range(1), out = st.range(2);
  NoGradGuard ng;
  Tensor x = Tensor::full({rows, in}, 0.5), w = Tensor::full({out, in}, 0.01),
         b = Tensor::full({out}, 0.1);
  for (auto _ : st) benchmark::DoNotOptimize(linear(x, w, b));
  st.counters["GFLOP/s"] = benchmark::Counter(2.0 * rows * in * out * 1e-9,
                                              benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Linear)
    ->Args({8, 512, 1000})     // ResNet-18 classifier, batch 8
    ->Args({256, 1024, 1024})  // RCNN 2FC head
    ->Args({1568, 384, 1536})  // MLP block, 8 x 196 tokens
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// Batched matmul with a broadcast operand: [8, 256, 256] @ [256, 256] and [8,256,64] @ [8,64,256].
void BM_MatmulBatched(benchmark::State& st) {
  NoGradGuard ng;
  Tensor a = Tensor::full({8, 256, 64}, 0.5), b = Tensor::full({8, 64, 256}, 0.25);
  for (auto _ : st) benchmark::DoNotOptimize(matmul(a, b));
  st.counters["GFLOP/s"] = benchmark::Counter(2.0 * 8 * 256 * 64 * 256 * 1e-9,
                                              benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_MatmulBatched)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace detforge

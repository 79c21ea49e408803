// Elementwise throughput (GB/s) against a plain copy of the same bytes.
#include <benchmark/benchmark.h>

#include "autograd/elementwise.h"
#include "tensor/view_ops.h"

namespace detforge {
namespace {

void BM_Copy(benchmark::State& st) {
  int64_t n = st.range(0);
  Tensor a = Tensor::full({n}, 1.5f), b = Tensor::empty({n});
  for (auto _ : st) raw::copy(b, a);
  st.counters["GB/s"] = benchmark::Counter(2.0 * n * 4, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Copy)->Arg(1 << 22);

void BM_Add(benchmark::State& st) {
  int64_t n = st.range(0);
  Tensor a = Tensor::full({n}, 1.5f), b = Tensor::full({n}, 2.5f);
  for (auto _ : st) benchmark::DoNotOptimize(add(a, b));
  st.counters["GB/s"] = benchmark::Counter(3.0 * n * 4, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Add)->Arg(1 << 22);

}  // namespace
}  // namespace detforge

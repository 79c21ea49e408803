// The branch-free float bodies behind every vectorised CPU exp / sigmoid / gelu / tanh / log loop
// (kernels/math.h), timed alone: 4,096 floats (L1-resident) in the `omp simd` form the kernels
// compile to, one thread, no tensor or dispatch overhead. ns per element = 1e9 / items_per_second.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <vector>

#include "kernels/math.h"

namespace detforge {
namespace {

constexpr int64_t kN = 4096;

std::vector<float> inputs() {  // uniform in [-8, 8]
  std::vector<float> x(kN);
  uint32_t s = 12345;
  for (auto& v : x) {
    s = s * 1664525u + 1013904223u;
    v = static_cast<float>(s >> 8) / 16777216.0f * 16.0f - 8.0f;
  }
  return x;
}

template <class F>
void run(benchmark::State& st, F f) {
  std::vector<float> x = inputs(), y(kN);
  for (auto _ : st) {
    const float* xp = x.data();
    float* yp = y.data();
#pragma omp simd
    for (int64_t i = 0; i < kN; ++i) yp[i] = f(xp[i]);
    benchmark::ClobberMemory();
  }
  st.SetItemsProcessed(st.iterations() * kN);
}

void BM_MathExpFast(benchmark::State& st) {
  run(st, [](float v) { return dmath::exp_fast(v); });
}
void BM_MathSigmoidFast(benchmark::State& st) {
  run(st, [](float v) { return dmath::sigmoid_fast(v); });
}
void BM_MathGeluErfFast(benchmark::State& st) {
  run(st, [](float v) { return 0.5f * v * (1.0f + dmath::erf_fast(v * 0.70710678118654752f)); });
}
void BM_MathTanhFast(benchmark::State& st) {
  run(st, [](float v) { return dmath::tanh_fast(v); });
}
void BM_MathLogFast(benchmark::State& st) {
  run(st, [](float v) { return dmath::log_fast(v + 9.0f); });  // inputs in [1, 17]
}
BENCHMARK(BM_MathExpFast);
BENCHMARK(BM_MathSigmoidFast);
BENCHMARK(BM_MathGeluErfFast);
BENCHMARK(BM_MathTanhFast);
BENCHMARK(BM_MathLogFast);

}  // namespace
}  // namespace detforge

// Loss throughput (GB/s of logits/operands moved): cross_entropy forward+backward on a detection
// classifier shape and a segmentation shape, smooth_l1 forward+backward on 1M elements.
#include <benchmark/benchmark.h>

#include "autograd/loss.h"

namespace detforge {
namespace {

// Deterministic pseudo-random values in [-2, 2) (the bench binary has no test utilities).
Tensor rand_tensor(const Shape& shape, uint64_t seed) {
  std::vector<float> v(static_cast<size_t>(shape_numel(shape)));
  uint64_t s = seed;
  for (auto& x : v) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    x = static_cast<float>((s >> 40) * (4.0 / 16777216.0) - 2.0);
  }
  return Tensor::from_vector(v, shape);
}

Tensor class_targets(int64_t n, int64_t classes, uint64_t seed) {
  std::vector<int64_t> v(static_cast<size_t>(n));
  uint64_t s = seed;
  for (auto& x : v) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    x = static_cast<int64_t>((s >> 33) % static_cast<uint64_t>(classes));
  }
  return Tensor::from_vector(v, {n});
}

// args: N, C, H, W (H = W = 0 for [N, C])
void BM_CrossEntropyFwdBwd(benchmark::State& st) {
  int64_t N = st.range(0), C = st.range(1), H = st.range(2), W = st.range(3);
  Shape xs = H ? Shape{N, C, H, W} : Shape{N, C};
  int64_t rows = H ? N * H * W : N;
  Tensor x = rand_tensor(xs, 1).set_requires_grad(true);
  Tensor t = class_targets(rows, C, 2).reshape(H ? Shape{N, H, W} : Shape{N});
  for (auto _ : st) {
    Tensor loss = cross_entropy(x, t, Tensor(), -100, "mean", 0.1);
    loss.backward();
    benchmark::DoNotOptimize(x.grad().data_ptr());
    x.set_grad(Tensor());
  }
  // forward reads x, backward reads x and writes grad: 3 passes over the logits + targets
  double bytes = 3.0 * N * C * (H ? H * W : 1) * 4 + 2.0 * rows * 8;
  st.counters["GB/s"] = benchmark::Counter(bytes, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_CrossEntropyFwdBwd)
    ->Args({4096, 80, 0, 0})
    ->Args({8, 21, 64, 64})
    ->Unit(benchmark::kMicrosecond);

void BM_SmoothL1FwdBwd(benchmark::State& st) {
  int64_t n = st.range(0);
  Tensor x = rand_tensor({n}, 3).set_requires_grad(true);
  Tensor y = rand_tensor({n}, 4);
  for (auto _ : st) {
    Tensor loss = smooth_l1_loss(x, y, "mean", 1.0 / 9);
    loss.backward();
    benchmark::DoNotOptimize(x.grad().data_ptr());
    x.set_grad(Tensor());
  }
  // forward reads x, y; backward reads x, y and writes grad_x
  st.counters["GB/s"] =
      benchmark::Counter(5.0 * n * 4, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_SmoothL1FwdBwd)->Arg(1 << 20)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace detforge

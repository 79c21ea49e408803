// KD losses (kernels/kd/) on distillation-sized inputs: forward and forward + backward, GB/s of
// the student/teacher (and mask) bytes read (+ the student gradient written), against a copy of
// the same bytes (BM_KdCopy: read + write of the two inputs) as the memory roofline reference.
//   soft CE: [N=512 rows, C=1000 classes]; Pearson / NSR / masked MSE: [8, 256, 64, 64] f32.
#include <benchmark/benchmark.h>

#include <vector>

#include "autograd/kd_losses.h"

namespace detforge {
namespace {

const Shape kLogits{512, 1000};
const Shape kFeat{8, 256, 64, 64};

Tensor uniform(const Shape& shape, float lo, float hi, uint64_t seed) {
  std::vector<float> v(static_cast<size_t>(shape_numel(shape)));
  uint64_t s = seed;
  for (auto& x : v) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    x = lo + static_cast<float>((s >> 40) * (1.0 / 16777216.0)) * (hi - lo);
  }
  return Tensor::from_vector(v, shape);
}

double bytes(const Shape& s) {
  return 4.0 * static_cast<double>(shape_numel(s));
}

void BM_KdCopy(benchmark::State& st) {
  Shape s = st.range(0) ? kFeat : kLogits;
  Tensor a = uniform(s, -2, 2, 1), b = uniform(s, -2, 2, 2);
  Tensor da = Tensor::empty(s), db = Tensor::empty(s);
  for (auto _ : st) {
    da.copy_(a);
    db.copy_(b);
    benchmark::DoNotOptimize(db.data_ptr());
  }
  st.counters["GB/s"] =
      benchmark::Counter(4 * bytes(s), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_KdCopy)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

// op: 0 soft CE, 1 Pearson, 2 NSR, 3 masked MSE; backward: 0/1.
void BM_KdLoss(benchmark::State& st) {
  const int op = static_cast<int>(st.range(0));
  const bool backward = st.range(1) != 0;
  Shape s = op == 0 ? kLogits : kFeat;
  Tensor a = uniform(s, -3, 3, 3), b = uniform(s, -3, 3, 4);
  Shape ms{kFeat[0], 1, kFeat[2], kFeat[3]};
  Tensor mask = uniform(ms, 0, 1, 5);
  if (backward) a.set_requires_grad(true);
  for (auto _ : st) {
    Tensor l = op == 0   ? kd_soft_ce(a, b, 4.0)
               : op == 1 ? kd_pearson(a, b)
               : op == 2 ? kd_bkd_nsr(a, b)
                         : kd_masked_mse(a, b, mask, 2.0, 0.5);
    if (backward) {
      a.mutable_grad() = Tensor();
      l.backward();
    }
    benchmark::DoNotOptimize(l.data_ptr());
  }
  // forward reads s and t; the backward reads them again and writes grad_s.
  double io = 2 * bytes(s) + (backward ? 3 * bytes(s) : 0.0);
  st.counters["GB/s"] = benchmark::Counter(io, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_KdLoss)
    ->ArgsProduct({{0, 1, 2, 3}, {0, 1}})
    ->ArgNames({"op", "bwd"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace detforge

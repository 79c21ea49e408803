// sigmoid_focal_loss throughput on RetinaNet-like [anchors, classes] logits (GB/s of operands
// moved) next to a plain copy of the same logits (the bandwidth ceiling). Shapes: one 512x512
// image with 9 anchors per location on P3-P7 (49104 anchors) x 80 classes, and a batch of 2.
// PyTorch's side: bench/compare/focal_loss_torch_cpu.py.
#include <benchmark/benchmark.h>

#include "autograd/sigmoid_focal_loss.h"
#include "tensor/view_ops.h"

namespace detforge {
namespace {

// Logits in [-6, 2) (mostly easy negatives, as a RetinaNet head after the prior-bias init), and
// 0/1 targets with ~1% positives.
Tensor logits(const Shape& shape, uint64_t seed) {
  std::vector<float> v(static_cast<size_t>(shape_numel(shape)));
  uint64_t s = seed;
  for (auto& x : v) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    x = static_cast<float>((s >> 40) * (8.0 / 16777216.0) - 6.0);
  }
  return Tensor::from_vector(v, shape);
}

Tensor targets(const Shape& shape, uint64_t seed) {
  std::vector<float> v(static_cast<size_t>(shape_numel(shape)));
  uint64_t s = seed;
  for (auto& x : v) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    x = (s >> 40) % 100 == 0 ? 1.0f : 0.0f;
  }
  return Tensor::from_vector(v, shape);
}

void BM_FocalCopy(benchmark::State& st) {
  Shape sh{st.range(0), st.range(1)};
  Tensor x = logits(sh, 1), o = Tensor::empty(sh);
  for (auto _ : st) {
    raw::copy(o, x);
    benchmark::DoNotOptimize(o.data_ptr());
  }
  st.counters["GB/s"] =
      benchmark::Counter(2.0 * 4 * shape_numel(sh), benchmark::Counter::kIsIterationInvariantRate);
}

// reduction sum: reads inputs and targets.
void BM_SigmoidFocalLossFwd(benchmark::State& st) {
  Shape sh{st.range(0), st.range(1)};
  Tensor x = logits(sh, 1), y = targets(sh, 2);
  for (auto _ : st) {
    Tensor l = sigmoid_focal_loss(x, y, 0.25, 2.0, "sum");
    benchmark::DoNotOptimize(l.data_ptr());
  }
  st.counters["GB/s"] =
      benchmark::Counter(2.0 * 4 * shape_numel(sh), benchmark::Counter::kIsIterationInvariantRate);
}

// reduction none (writes the loss map).
void BM_SigmoidFocalLossFwdNone(benchmark::State& st) {
  Shape sh{st.range(0), st.range(1)};
  Tensor x = logits(sh, 1), y = targets(sh, 2);
  for (auto _ : st) {
    Tensor l = sigmoid_focal_loss(x, y, 0.25, 2.0, "none");
    benchmark::DoNotOptimize(l.data_ptr());
  }
  st.counters["GB/s"] =
      benchmark::Counter(3.0 * 4 * shape_numel(sh), benchmark::Counter::kIsIterationInvariantRate);
}

// sum then backward to the logits: forward reads x, y; backward reads x, y, writes grad.
void BM_SigmoidFocalLossFwdBwd(benchmark::State& st) {
  Shape sh{st.range(0), st.range(1)};
  Tensor x = logits(sh, 1).set_requires_grad(true), y = targets(sh, 2);
  for (auto _ : st) {
    Tensor l = sigmoid_focal_loss(x, y, 0.25, 2.0, "sum");
    l.backward();
    benchmark::DoNotOptimize(x.grad().data_ptr());
    x.set_grad(Tensor());
  }
  st.counters["GB/s"] =
      benchmark::Counter(5.0 * 4 * shape_numel(sh), benchmark::Counter::kIsIterationInvariantRate);
}

#define DF_FOCAL_SHAPES \
  ->Args({49104, 80})->Args({98208, 80})->Unit(benchmark::kMillisecond)->UseRealTime()
BENCHMARK(BM_FocalCopy) DF_FOCAL_SHAPES;
BENCHMARK(BM_SigmoidFocalLossFwd) DF_FOCAL_SHAPES;
BENCHMARK(BM_SigmoidFocalLossFwdNone) DF_FOCAL_SHAPES;
BENCHMARK(BM_SigmoidFocalLossFwdBwd) DF_FOCAL_SHAPES;
#undef DF_FOCAL_SHAPES

}  // namespace
}  // namespace detforge

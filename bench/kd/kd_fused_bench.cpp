// Fused DetKDS feature distances (kernels/kd/): kd_ssim and kd_att_norm_dist on a distillation-
// sized FPN feature [4, 256, 32, 32] f32, forward and forward + backward, each next to the same
// formula composed from autograd ops (kd::ssim_distance_composed / kd::distiller_loss_composed, the
// reference semantics). GB/s = student + teacher bytes read (+ the backward's read of both and
// write of grad_s) per second; torch's side: bench/compare/kd_torch_cpu.py.
#include <benchmark/benchmark.h>

#include <vector>

#include "autograd/kd_losses.h"
#include "kd/distances.h"

namespace detforge {
namespace {

const Shape kFeat{4, 256, 32, 32};

Tensor uniform(const Shape& shape, float lo, float hi, uint64_t seed) {
  std::vector<float> v(static_cast<size_t>(shape_numel(shape)));
  uint64_t s = seed;
  for (auto& x : v) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    x = lo + static_cast<float>((s >> 40) * (1.0 / 16777216.0)) * (hi - lo);
  }
  return Tensor::from_vector(v, shape);
}

// Chains: 0 SSIM; 1 catt -> norm_C -> L2; 2 satt -> norm_HW -> KL; 3 norm_HW -> cosine;
// 4 catt -> smooth-L1.
kd::DistillerSpec chain(int c) {
  using kd::Input;
  switch (c) {
    case 0:
      return {Input::global, {}, "SSIM", 1};
    case 1:
      return {Input::global, {{"catt", 0.5}, {"norm_C", 0}}, "L2", 1};
    case 2:
      return {Input::global, {{"satt", 0.5}, {"norm_HW", 0}}, "KL", 1};
    case 3:
      return {Input::global, {{"norm_HW", 0}}, "cosine", 1};
    default:
      return {Input::global, {{"catt", 0.5}}, "smooth-L1", 1};
  }
}

// args: chain, backward, fused (1) or composed (0)
void BM_KdFusedChain(benchmark::State& st) {
  const auto spec = chain(static_cast<int>(st.range(0)));
  const bool backward = st.range(1) != 0, fused = st.range(2) != 0;
  Tensor a = uniform(kFeat, -3, 3, 3), b = uniform(kFeat, -3, 3, 4);
  if (backward) a.set_requires_grad(true);
  for (auto _ : st) {
    Tensor l = spec.distance == "SSIM"
                   ? (fused ? kd::ssim_distance(a, b) : kd::ssim_distance_composed(a, b))
               : fused ? kd::distiller_loss(spec, a, b)
                       : kd::distiller_loss_composed(spec, a, b);
    if (backward) {
      a.mutable_grad() = Tensor();
      l.backward();
    }
    benchmark::DoNotOptimize(l.data_ptr());
  }
  const double e = 4.0 * static_cast<double>(shape_numel(kFeat));
  st.counters["GB/s"] = benchmark::Counter(2 * e + (backward ? 3 * e : 0.0),
                                           benchmark::Counter::kIsIterationInvariantRate);
  st.SetLabel(kd::to_string(spec) + (fused ? " fused" : " composed"));
}
BENCHMARK(BM_KdFusedChain)
    ->ArgsProduct({{0, 1, 2, 3, 4}, {0, 1}, {1, 0}})
    ->ArgNames({"chain", "bwd", "fused"})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace detforge

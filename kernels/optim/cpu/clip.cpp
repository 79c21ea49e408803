// CPU gradient clipping over all tensors: per-chunk partial norms (double), then one scale pass.
#include <cmath>

#include "kernels/math.h"
#include "kernels/optim/clip.h"
#include "kernels/optim/cpu/multi_tensor_cpu.h"

namespace detforge::kernels {
namespace {

void clip_grad_norm_cpu(Device, const std::vector<ClipEntry>& entries, bool inf_norm,
                        double max_norm, const Tensor& total) {
  std::vector<OptimChunk> chunks = make_chunks(entries);
  std::vector<double> partial(chunks.size(), 0.0);
  parallel_for(0, static_cast<int64_t>(chunks.size()), 1, [&](int64_t cb, int64_t ce) {
    for (int64_t c = cb; c < ce; ++c) {
      const ClipEntry& e = entries[chunks[c].tensor];
      const float* g = e.param;
      int64_t b = chunks[c].begin, end = std::min(e.numel, b + kOptimChunk);
      double acc = 0.0;
      if (inf_norm) {
        float mx = 0.f;
        for (int64_t i = b; i < end; ++i) mx = dmath::max<float>(mx, dmath::fabs(g[i]));
        acc = mx;
      } else {
        float facc[8] = {0, 0, 0, 0, 0, 0, 0, 0};  // 8 lanes, summed per chunk in double
        int64_t i = b;
        for (; i + 8 <= end; i += 8)
          for (int k = 0; k < 8; ++k) facc[k] += g[i + k] * g[i + k];
        for (; i < end; ++i) acc += static_cast<double>(g[i]) * g[i];
        for (int k = 0; k < 8; ++k) acc += facc[k];
      }
      partial[c] = acc;
    }
  });
  double t = 0.0;
  for (double v : partial) t = inf_norm ? (std::isnan(v) || v > t ? v : t) : t + v;
  if (!inf_norm) t = std::sqrt(t);
  float tf = static_cast<float>(t);
  *total.data<float>() = tf;
  float coef = static_cast<float>(max_norm) / (tf + 1e-6f);  // float math, as PyTorch
  if (coef >= 1.f) return;  // clamped at 1: gradients unchanged (a NaN total scales them by NaN)
  multi_tensor_for(entries, [coef](const ClipEntry& e, int64_t b, int64_t end) {
    float* g = e.param;
    for (int64_t i = b; i < end; ++i) g[i] *= coef;
  });
}

void clip_grad_value_cpu(Device, const std::vector<ClipEntry>& entries) {
  multi_tensor_for(entries, [](const ClipEntry& e, int64_t b, int64_t end) {
    float* g = e.param;
    const float v = e.h.value;
    for (int64_t i = b; i < end; ++i) {
      float x = g[i];
      g[i] = dmath::isnan(x) ? x : (x < -v ? -v : (x > v ? v : x));
    }
  });
}

}  // namespace
DF_REGISTER_DISPATCH(clip_grad_norm_stub, CPU, &clip_grad_norm_cpu);
DF_REGISTER_DISPATCH(clip_grad_value_stub, CPU, &clip_grad_value_cpu);
}  // namespace detforge::kernels

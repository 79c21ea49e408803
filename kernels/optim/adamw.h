// Fused AdamW step (PyTorch 1.13 torch.optim.AdamW semantics: decoupled weight decay, bias
// correction, optional amsgrad), plus the BN-sparsity subgradient lambda * sign(gamma).
#pragma once
#include <vector>

#include "kernels/dispatch.h"
#include "kernels/math.h"
#include "kernels/optim/multi_tensor.h"

namespace detforge::kernels {

struct AdamWHyper {
  float decay = 1.f;  // 1 - lr * weight_decay
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float one_minus_beta1 = 0.1f;  // rounded once from double as PyTorch does
  float one_minus_beta2 = 0.001f;
  float eps = 1e-8f;
  float step_size = 0.f;  // lr / (1 - beta1^step)
  float bc2_sqrt = 1.f;   // sqrt(1 - beta2^step)
  float bn_lambda = 0.f;  // 0 = off
  uint8_t amsgrad = 0;
  uint8_t maximize = 0;
};

// One element: p, g, m (exp_avg), v (exp_avg_sq), vmax (max_exp_avg_sq; only with amsgrad).
DETFORGE_HD inline void adamw_update(float& p, float g, float& m, float& v, float& vmax,
                                     const AdamWHyper& h) {
  float d = h.maximize ? -g : g;
  if (h.bn_lambda != 0.f)
    d += h.bn_lambda * sign0(p);  // subgradient of |gamma| at the pre-decay gamma
  float q = p * h.decay;
  float m1 = m * h.beta1 + h.one_minus_beta1 * d;
  float v1 = v * h.beta2 + h.one_minus_beta2 * d * d;
  m = m1;
  v = v1;
  float vv = v1;
  if (h.amsgrad) {
    vv = dmath::max<float>(vmax, v1);
    vmax = vv;
  }
  float denom = dmath::sqrt(vv) / h.bc2_sqrt + h.eps;
  p = q - h.step_size * (m1 / denom);
}

// state0 = exp_avg, state1 = exp_avg_sq, state2 = max_exp_avg_sq (null without amsgrad).
using AdamWEntry = MultiTensorEntry<AdamWHyper>;
using AdamWStepFn = void (*)(Device device, const std::vector<AdamWEntry>& entries);
DF_DECLARE_DISPATCH(AdamWStepFn, adamw_step_stub);

}  // namespace detforge::kernels

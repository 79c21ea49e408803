// sigmoid_focal_loss (torchvision.ops.sigmoid_focal_loss, RetinaNet), fused: one pass forward,
// one pass backward. Per element, with logit x, target y, s = sigmoid(x):
//   ce  = max(x, 0) - x y + log1p(exp(-|x|))          (BCE with logits, overflow-free)
//   p_t = s y + (1 - s)(1 - y),  m = 1 - p_t
//   a_t = alpha y + (1 - alpha)(1 - y)   (alpha >= 0; torchvision skips the weighting, a_t = 1,
//                                         when alpha < 0)
//   loss = a_t ce m^gamma
// Derivatives (s' = s (1 - s)):
//   dm/dx = -s' (2y - 1),  dm/dy = 1 - 2s,  dce/dx = s - y,  dce/dy = -x,  da_t/dy = 2 alpha - 1
//   dL/dx = a_t (m^g (s - y) + ce g m^(g-1) dm/dx)
//   dL/dy = da_t ce m^g + a_t (-x m^g + ce g m^(g-1) dm/dy)
// gamma == 0 gives m^0 = 1 and a zero second term (as torch.pow's backward for exponent 0).
#pragma once
#include "kernels/dispatch.h"
#include "kernels/loss/loss_common.h"
#include "kernels/math.h"
#include "tensor/tensor.h"

namespace detforge::kernels {

struct SigmoidFocalLossParams {
  double alpha = 0.25;  // < 0: no alpha weighting
  double gamma = 2.0;
  LossReduction reduction = LossReduction::none;
};

namespace focal {

// log1p(z) for z in [0, 1] as 2 atanh(z / (2 + z)) (t <= 1/3, odd series to t^17: relative
// error < 1e-9, no cancellation for tiny z); branch-free so CPU loops vectorise. Device: log1pf.
DETFORGE_HD_INLINE float log1p_unit(float z) {
#ifdef __CUDA_ARCH__
  return ::log1pf(z);
#else
  float t = z / (2.0f + z);
  float t2 = t * t;
  float p = 1.0f / 17.0f;
  p = p * t2 + 1.0f / 15.0f;
  p = p * t2 + 1.0f / 13.0f;
  p = p * t2 + 1.0f / 11.0f;
  p = p * t2 + 1.0f / 9.0f;
  p = p * t2 + 1.0f / 7.0f;
  p = p * t2 + 1.0f / 5.0f;
  p = p * t2 + 1.0f / 3.0f;
  p = p * t2 + 1.0f;
  return 2.0f * t * p;
#endif
}
DETFORGE_HD_INLINE double log1p_unit(double z) {
  return dmath::log1p(z);
}

// m^gamma and gamma m^(gamma - 1) (0 for gamma == 0). gamma 2 and 1, the common cases, avoid pow.
template <class A>
DETFORGE_HD_INLINE void modulating(A m, A gamma, A& mg, A& dmg) {
  if (gamma == A(2)) {
    mg = m * m;
    dmg = A(2) * m;
  } else if (gamma == A(1)) {
    mg = m;
    dmg = A(1);
  } else if (gamma == A(0)) {
    mg = A(1);
    dmg = A(0);
  } else {
    mg = dmath::pow(m, gamma);
    dmg = gamma * dmath::pow(m, gamma - A(1));
  }
}

// ce and s from one exp: e = exp(-|x|), s = 1 / (1 + e) for x >= 0 else e / (1 + e).
template <class A>
DETFORGE_HD_INLINE void ce_sigmoid(A x, A y, A& ce, A& s) {
  A ax = x < A(0) ? -x : x;
  A e = dmath::exp_fast(-ax);
  A r = A(1) / (A(1) + e);
  s = x < A(0) ? e * r : r;
  A mx = x > A(0) ? x : A(0);
  ce = mx - x * y + log1p_unit(e);
}

template <class A>
DETFORGE_HD_INLINE A alpha_t(A y, A alpha) {
  return alpha >= A(0) ? alpha * y + (A(1) - alpha) * (A(1) - y) : A(1);
}

}  // namespace focal

// The loss of one element.
template <class A>
DETFORGE_HD_INLINE A sigmoid_focal_loss_value(A x, A y, A alpha, A gamma) {
  A ce, s, mg, dmg;
  focal::ce_sigmoid(x, y, ce, s);
  A m = A(1) - (s * y + (A(1) - s) * (A(1) - y));
  focal::modulating(m, gamma, mg, dmg);
  return focal::alpha_t(y, alpha) * ce * mg;
}

// dL/dx and dL/dy of one element.
template <class A>
DETFORGE_HD_INLINE void sigmoid_focal_loss_grad(A x, A y, A alpha, A gamma, A& dx, A& dy) {
  A ce, s, mg, dmg;
  focal::ce_sigmoid(x, y, ce, s);
  A m = A(1) - (s * y + (A(1) - s) * (A(1) - y));
  focal::modulating(m, gamma, mg, dmg);
  A at = focal::alpha_t(y, alpha);
  A ds = s * (A(1) - s);
  A dm_dx = -ds * (A(2) * y - A(1));
  A dm_dy = A(1) - A(2) * s;
  A ce_dmg = dmg == A(0) ? A(0) : ce * dmg;  // gamma 0: no second term even where m^-1 = inf
  dx = at * (mg * (s - y) + ce_dmg * dm_dx);
  A dat = alpha >= A(0) ? A(2) * alpha - A(1) : A(0);
  dy = dat * ce * mg + at * (-x * mg + ce_dmg * dm_dy);
}

// inputs/targets: contiguous, one floating dtype, one numel. out: inputs' shape for reduction
// none, else 0-dim (mean divides by numel on the device; NaN for an empty mean, as PyTorch).
using SigmoidFocalLossForwardFn = void (*)(const SigmoidFocalLossParams& p, const Tensor& out,
                                           const Tensor& inputs, const Tensor& targets);
// grad_inputs / grad_targets: contiguous, inputs' shape, or undefined when not wanted. grad_out:
// inputs' shape for reduction none, else 0-dim (read on the device: no host sync).
using SigmoidFocalLossBackwardFn = void (*)(const SigmoidFocalLossParams& p,
                                            const Tensor& grad_inputs, const Tensor& grad_targets,
                                            const Tensor& grad_out, const Tensor& inputs,
                                            const Tensor& targets);
DF_DECLARE_DISPATCH(SigmoidFocalLossForwardFn, sigmoid_focal_loss_forward_stub);
DF_DECLARE_DISPATCH(SigmoidFocalLossBackwardFn, sigmoid_focal_loss_backward_stub);

}  // namespace detforge::kernels

// centernet_heatmap_focal_loss (CenterNet, Zhou et al. 2019; the official code's _neg_loss on
// _sigmoid's clamped output), fused: one pass forward, one pass backward w.r.t. the logits.
// Per element, with logit x, target heatmap y, s = sigmoid(x), p = clamp(s, 1e-4, 1 - 1e-4):
//   positive (y == 1):  v = log(p) (1 - p)^2
//   negative (y < 1):   v = log(1 - p) p^2 (1 - y)^4
//   otherwise (y > 1): v = 0 (NaN / inf targets give NaN, as the reference's (1 - y)^4 * 0)
//   loss = -sum(v) / max(num_pos, 1)       (num_pos = #{y == 1}; no positives: -sum of negatives)
// Derivatives (alpha = 2, beta = 4 fixed, as the official code):
//   dv/dp = (1 - p)^2 / p - 2 log(p) (1 - p)            (positive)
//   dv/dp = (1 - y)^4 (2 p log(1 - p) - p^2 / (1 - p))  (negative)
//   dp/dx = s (1 - s) where 1e-4 <= s <= 1 - 1e-4, else 0 (torch.clamp's gradient)
#pragma once
#include <cstdint>

#include "kernels/dispatch.h"
#include "kernels/math.h"
#include "tensor/tensor.h"

namespace detforge::kernels {

namespace cnfocal {

// log(z) for normal positive float z (here z in [1e-4, 1]): z = 2^e m with m in [sqrt(1/2),
// sqrt(2)), log m = 2 atanh(t), t = (m - 1) / (m + 1), |t| <= 0.1716, odd series to t^11
// (relative error < 1e-9 before float rounding). Branch-free so CPU loops vectorise. Device: logf.
DETFORGE_HD_INLINE float log_pos(float z) {
#ifdef __CUDA_ARCH__
  return ::logf(z);
#else
  union {
    float f;
    int32_t i;
  } u;
  u.f = z;
  int32_t e = ((u.i >> 23) & 0xff) - 127;
  u.i = (u.i & 0x007fffff) | 0x3f800000;  // m in [1, 2)
  float m = u.f;
  const bool big = m > 1.41421356f;
  m = big ? 0.5f * m : m;
  const float ef = static_cast<float>(big ? e + 1 : e);
  const float t = (m - 1.0f) / (m + 1.0f);
  const float t2 = t * t;
  float p = 1.0f / 11.0f;
  p = p * t2 + 1.0f / 9.0f;
  p = p * t2 + 1.0f / 7.0f;
  p = p * t2 + 1.0f / 5.0f;
  p = p * t2 + 1.0f / 3.0f;
  p = p * t2 + 1.0f;
  const float r = ef * 0.693147180559945f + 2.0f * t * p;
  return z != z ? z : r;  // NaN stays NaN
#endif
}
DETFORGE_HD_INLINE double log_pos(double z) {
  return dmath::log(z);
}

template <class A>
DETFORGE_HD_INLINE A clamp_lo() {
  return static_cast<A>(1e-4);
}
template <class A>
DETFORGE_HD_INLINE A clamp_hi() {
  return static_cast<A>(1.0 - 1e-4);
}

template <class A>
DETFORGE_HD_INLINE A sigmoid(A x) {
  return A(1) / (A(1) + dmath::exp_fast(-x));
}

template <class A>
DETFORGE_HD_INLINE A clamp(A s) {
  return s < clamp_lo<A>() ? clamp_lo<A>() : (s > clamp_hi<A>() ? clamp_hi<A>() : s);
}

}  // namespace cnfocal

// v of one element (before the -1 / max(num_pos, 1) scale); pos = 1 for a positive, else 0.
// One log per element: log(p) for a positive, log(1 - p) otherwise.
template <class A>
DETFORGE_HD_INLINE A centernet_focal_value(A x, A y, A& pos) {
  const A p = cnfocal::clamp(cnfocal::sigmoid(x));
  const A q = A(1) - p;
  const A w1 = A(1) - y;
  const A w2 = w1 * w1;
  const bool is_pos = y == A(1);
  const A lg = cnfocal::log_pos(is_pos ? p : q);
  pos = is_pos ? A(1) : A(0);
  // positive: log(p) q^2; negative: log(q) p^2 (1 - y)^4; neither: (1 - y)^4 * 0, which is 0
  // for y > 1 and NaN for a NaN or infinite target (as the reference's weights * mask).
  const A w4 = w2 * w2;
  const A f = is_pos ? q * q : (y < A(1) ? p * p * w4 : w4 * A(0));
  return lg * f;
}

// dv/dx of one element (zero where the clamp is active).
template <class A>
DETFORGE_HD_INLINE A centernet_focal_grad(A x, A y) {
  const A s = cnfocal::sigmoid(x);
  const bool inside = s >= cnfocal::clamp_lo<A>() && s <= cnfocal::clamp_hi<A>();
  const A p = cnfocal::clamp(s);
  const A q = A(1) - p;
  const A w1 = A(1) - y;
  const A w2 = w1 * w1;
  const bool is_pos = y == A(1);
  const A lg = cnfocal::log_pos(is_pos ? p : q);
  const A r = is_pos ? q * q / p : p * p / q;  // one division
  const A dp = r - A(2) * lg * q;
  const A w4 = w2 * w2;
  const A dn = w4 * (A(2) * p * lg - r);
  const A d = is_pos ? dp : (y < A(1) ? dn : w4 * A(0));
  return inside ? d * (s * (A(1) - s)) : A(0);
}

// logits / target: contiguous, one floating dtype, one numel. out: 0-dim, logits' dtype;
// num_pos: 0-dim f64 (the positives' count, kept for the backward; written on the device).
using CenterNetFocalForwardFn = void (*)(const Tensor& out, const Tensor& num_pos,
                                         const Tensor& logits, const Tensor& target);
// grad_logits: contiguous, logits' shape. grad_out: 0-dim; grad_out and num_pos are read on the
// device (no host sync).
using CenterNetFocalBackwardFn = void (*)(const Tensor& grad_logits, const Tensor& grad_out,
                                          const Tensor& num_pos, const Tensor& logits,
                                          const Tensor& target);
DF_DECLARE_DISPATCH(CenterNetFocalForwardFn, centernet_focal_forward_stub);
DF_DECLARE_DISPATCH(CenterNetFocalBackwardFn, centernet_focal_backward_stub);

}  // namespace detforge::kernels

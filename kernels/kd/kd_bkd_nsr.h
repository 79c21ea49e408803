// kd_bkd_nsr: DONNA's blockwise-KD noise-to-signal ratio (3.2.1), fused. student s, target t:
// [N, C, *] (typically [N, C, H, W]); per channel c over the M = N * prod(*) values:
//   mse_c = mean (t - s)^2,  var_c = mean t^2 - (mean t)^2   (biased variance of the target)
//   loss  = (1 / C) sum_c mse_c / (var_c + eps)
// eps (attribute, default 1e-8): a constant target channel gives mse_c / eps (large, finite).
// Forward: one pass per channel over its N strided runs, accumulating in double
//   Sd = sum (t - s)^2, St = sum (t - t_0), Stt = sum (t - t_0)^2   (t_0: the channel's first
// target value, a shift that keeps the one-pass variance accurate), var_c = Stt/M - (St/M)^2
// clamped at 0. It saves w_c = 1 / (M (var_c + eps)) (f64 [C]) for a one-pass backward.
// Gradient w.r.t. the student only (the target is fixed, e.g. the teacher block's output):
//   d loss / d s_i = g * 2 (s_i - t_i) w_c / C
// C == 0: NaN (a mean over no channels); M == 0: NaN per channel (0 / 0), as torch.
#pragma once
#include "kernels/dispatch.h"
#include "kernels/math.h"
#include "tensor/tensor.h"

namespace detforge::kernels {

struct KdBkdNsrParams {
  double eps = 1e-8;
};

namespace kd {
// Channel ratio from the one-pass sums; w receives 1 / (M (var + eps)).
DETFORGE_HD inline double nsr_channel(double sd, double st, double stt, int64_t m, double eps,
                                      double* w) {
  const double inv_m = 1.0 / static_cast<double>(m);
  const double mt = st * inv_m;
  double var = stt * inv_m - mt * mt;
  var = var > 0.0 ? var : (var != var ? var : 0.0);
  *w = inv_m / (var + eps);
  return sd * *w;
}

// d loss / d s (before the g / C factor).
template <class A>
DETFORGE_HD inline A nsr_grad(A s, A t, A w) {
  return A(2) * (s - t) * w;
}
}  // namespace kd

// student, target: contiguous [N, C, inner...] as n, c, inner; one floating dtype. out: 0-dim;
// weights: contiguous f64 [C], written for the backward.
using KdBkdNsrForwardFn = void (*)(const KdBkdNsrParams& p, const Tensor& out,
                                   const Tensor& weights, const Tensor& student,
                                   const Tensor& target, int64_t n, int64_t c, int64_t inner);
using KdBkdNsrBackwardFn = void (*)(const KdBkdNsrParams& p, const Tensor& grad_student,
                                    const Tensor& grad_out, const Tensor& weights,
                                    const Tensor& student, const Tensor& target, int64_t n,
                                    int64_t c, int64_t inner);
DF_DECLARE_DISPATCH(KdBkdNsrForwardFn, kd_bkd_nsr_forward_stub);
DF_DECLARE_DISPATCH(KdBkdNsrBackwardFn, kd_bkd_nsr_backward_stub);

}  // namespace detforge::kernels

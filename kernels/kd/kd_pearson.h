// kd_pearson: DetKDS's Pearson distance (3.1 / appendix D), fused. student s, teacher t: [N, ...],
// each sample flattened to D = numel / N values:
//   mean_x = sum x / D,  cov = sum (s - mean_s)(t - mean_t) / D,  var_s, var_t likewise
//   r_n = cov / sqrt((var_s + eps)(var_t + eps))
//   loss = (1 / N) sum_n (1 - r_n)
// eps (attribute, default 1e-8) is added to each per-element variance: a constant (zero-variance)
// sample gives r = 0 (loss 1) and a finite gradient instead of 0 / 0.
// Forward: one pass per sample over shifted values u = s - s_0, v = t - t_0 (the sample's first
// elements; this keeps the one-pass moments accurate for large offsets) accumulating in double
//   Su, Sv, Suu, Svv, Suv  ->  var_s = Suu/D - (Su/D)^2 (clamped at 0), cov = Suv/D - Su Sv / D^2.
// It saves per sample {mean_s, mean_t, 1/sqrt(a b), r, 1/a} (a = var_s + eps, b = var_t + eps)
// so that the backward is one pass. Gradient w.r.t. the student only:
//   dr/ds_i = (t_i - mean_t) / (D sqrt(a b)) - r (s_i - mean_s) / (D a)
//   d loss / d s_i = -g dr/ds_i / N
// N == 0: NaN (a mean of nothing). NaN inputs propagate through the sums.
#pragma once
#include "kernels/dispatch.h"
#include "kernels/math.h"
#include "tensor/tensor.h"

namespace detforge::kernels {

struct KdPearsonParams {
  double eps = 1e-8;
};

namespace kd {
constexpr int kPearsonStats = 5;  // mean_s, mean_t, rsqrt(a b), r, 1/a

// Per-sample statistics from the shifted one-pass sums (double).
DETFORGE_HD inline void pearson_stats(double su, double sv, double suu, double svv, double suv,
                                      double x0, double y0, int64_t d, double eps, double* st) {
  const double inv_d = 1.0 / static_cast<double>(d);
  const double mu = su * inv_d, mv = sv * inv_d;
  double vs = suu * inv_d - mu * mu, vt = svv * inv_d - mv * mv;
  vs = vs > 0.0 ? vs : (vs != vs ? vs : 0.0);  // rounding can go below 0; NaN stays NaN
  vt = vt > 0.0 ? vt : (vt != vt ? vt : 0.0);
  const double cov = suv * inv_d - mu * mv;
  const double a = vs + eps, b = vt + eps;
  const double rs = 1.0 / dmath::sqrt(a * b);
  st[0] = x0 + mu;
  st[1] = y0 + mv;
  st[2] = rs;
  st[3] = cov * rs;
  st[4] = 1.0 / a;
}

// d r / d s_i (before the -g / N factor).
template <class A>
DETFORGE_HD inline A pearson_grad(A s, A t, const double* st, A inv_d) {
  return ((t - static_cast<A>(st[1])) * static_cast<A>(st[2]) -
          static_cast<A>(st[3]) * (s - static_cast<A>(st[0])) * static_cast<A>(st[4])) *
         inv_d;
}
}  // namespace kd

// student, teacher: contiguous, numel N * D with D > 0 (or N == 0), one floating dtype. out: 0-dim.
// stats: contiguous f64 [N, kPearsonStats], written for the backward.
using KdPearsonForwardFn = void (*)(const KdPearsonParams& p, const Tensor& out,
                                    const Tensor& stats, const Tensor& student,
                                    const Tensor& teacher, int64_t n);
using KdPearsonBackwardFn = void (*)(const KdPearsonParams& p, const Tensor& grad_student,
                                     const Tensor& grad_out, const Tensor& stats,
                                     const Tensor& student, const Tensor& teacher, int64_t n);
DF_DECLARE_DISPATCH(KdPearsonForwardFn, kd_pearson_forward_stub);
DF_DECLARE_DISPATCH(KdPearsonBackwardFn, kd_pearson_backward_stub);

}  // namespace detforge::kernels

// kd_ssim: DetKDS's SSIM distance (3.1 / appendix D), fused, with the statistics exactly as the
// composed kd::ssim_distance (kd/distances.cpp) defines them: one window covering each whole
// (n, c) map (global statistics, no Gaussian window). student s, teacher t: [N, C, H, W], R = N*C
// maps of M = H*W values; per map, biased (co)variances:
//   mu_x = sum x / M,  var_x = sum (x - mu_x)^2 / M,  cov = sum (s - mu_s)(t - mu_t) / M
//   A = 2 mu_s mu_t + C1,  B = 2 cov + C2,  P = mu_s^2 + mu_t^2 + C1,  Q = var_s + var_t + C2
//   SSIM_r = A B / (P Q),   loss = 1 - (1 / R) sum_r SSIM_r      (C1 = 0.01^2, C2 = 0.03^2)
// Constant maps (zero variance) are fine: Q >= C2 > 0.
// Forward: one pass per map over shifted values u = s - s_0, v = t - t_0 (the map's first
// elements) accumulating Su, Sv, Suu, Svv, Suv in double, as kd_pearson. It saves per map
// {mu_s, mu_t, k0, k1, k2, SSIM} with
//   k0 = (2 mu_t B / (P Q) - 2 mu_s A B / (P^2 Q)) / M,  k1 = 2 A / (P Q M),  k2 = -2 A B / (P Q^2
//   M)
// so the backward is one elementwise pass (gradient w.r.t. the student only):
//   d SSIM_r / d s_i = k0 + k1 (t_i - mu_t) + k2 (s_i - mu_s),   d loss / d s_i = -g dSSIM/ds_i / R
// R == 0: NaN (a mean of nothing). NaN inputs propagate.
#pragma once
#include "kernels/dispatch.h"
#include "kernels/math.h"
#include "tensor/tensor.h"

namespace detforge::kernels {

struct KdSsimParams {
  double c1 = 0.01 * 0.01;
  double c2 = 0.03 * 0.03;
};

namespace kd {
constexpr int kSsimStats = 6;  // mu_s, mu_t, k0, k1, k2, ssim

// Per-map statistics from the shifted one-pass sums (double).
DETFORGE_HD inline void ssim_stats(double su, double sv, double suu, double svv, double suv,
                                   double x0, double y0, int64_t m, double c1, double c2,
                                   double* st) {
  const double inv_m = 1.0 / static_cast<double>(m);
  const double du = su * inv_m, dv = sv * inv_m;  // means of the shifted values
  double vs = suu * inv_m - du * du, vt = svv * inv_m - dv * dv;
  vs = vs > 0.0 ? vs : (vs != vs ? vs : 0.0);  // rounding can go below 0; NaN stays NaN
  vt = vt > 0.0 ? vt : (vt != vt ? vt : 0.0);
  const double cov = suv * inv_m - du * dv;
  const double ms = x0 + du, mt = y0 + dv;
  const double a = 2.0 * ms * mt + c1, b = 2.0 * cov + c2;
  const double p = ms * ms + mt * mt + c1, q = vs + vt + c2;
  const double ipq = 1.0 / (p * q);
  st[0] = ms;
  st[1] = mt;
  st[2] = (2.0 * mt * b * ipq - 2.0 * ms * a * b * ipq / p) * inv_m;
  st[3] = 2.0 * a * ipq * inv_m;
  st[4] = -2.0 * a * b * ipq / q * inv_m;
  st[5] = a * b * ipq;
}

// d SSIM / d s_i (before the -g / R factor).
template <class A>
DETFORGE_HD inline A ssim_grad(A s, A t, const double* st) {
  return static_cast<A>(st[2]) + static_cast<A>(st[3]) * (t - static_cast<A>(st[1])) +
         static_cast<A>(st[4]) * (s - static_cast<A>(st[0]));
}
}  // namespace kd

// student, teacher: contiguous, numel rows * m with m > 0 (or rows == 0), one floating dtype.
// out: 0-dim. stats: contiguous f64 [rows, kSsimStats], written for the backward.
using KdSsimForwardFn = void (*)(const KdSsimParams& p, const Tensor& out, const Tensor& stats,
                                 const Tensor& student, const Tensor& teacher, int64_t rows);
using KdSsimBackwardFn = void (*)(const KdSsimParams& p, const Tensor& grad_student,
                                  const Tensor& grad_out, const Tensor& stats,
                                  const Tensor& student, const Tensor& teacher, int64_t rows);
DF_DECLARE_DISPATCH(KdSsimForwardFn, kd_ssim_forward_stub);
DF_DECLARE_DISPATCH(KdSsimBackwardFn, kd_ssim_backward_stub);

}  // namespace detforge::kernels

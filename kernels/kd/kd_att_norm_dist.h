// kd_att_norm_dist: one fused pass for the common DetKDS feature chains (3.1 / appendix D)
//   attention in {none, satt, catt(tau)} -> normalize in {none, norm_HW, norm_C} -> distance in
//   {L1, L2, smooth-L1, KL, cosine}
// equal to composing kd/transforms.h + kd/distances.h (the reference semantics). norm_N, min-max,
// mask, scale_{2,4} and local_{2,4} are not fused (norm_N and scale/local mix samples or change the
// shape; the caller composes those chains). s, t: [N, C, H, W]; per sample f = [C, P], P = H*W:
//   satt: G_p = (1/C) sum_c |f_cp|, a = P softmax_p(G / tau), x_cp = a_p f_cp
//   catt: G_c = (1/P) sum_p |f_cp|, a = C softmax_c(G / tau), x_cp = a_c f_cp
//   norm_HW: y = (x - mean_p x) / sqrt(var_p x + 1e-5) per (n, c) (biased var); norm_C: over c
//   L1: mean |ys - yt| over N C P;  smooth-L1 (beta 1): mean of 0.5 d^2 (|d| < 1) or |d| - 0.5
//   L2: (1/N) sum_n sqrt(sum (ys - yt)^2 + 1e-12) over the flattened sample
//   KL: (1/(N C)) sum_{n,c} sum_p pt (log pt - log ps), p = softmax_p of the (n, c) map
//   cosine: 1 - (1/N) sum_n <ys, yt> / (|ys| |yt| + 1e-8), |x| = sqrt(sum x^2 + 1e-12)
// Gradient w.r.t. the student only (chained through distance, norm and attention):
//   distance: L1 sign(d), smooth-L1 d or sign(d), L2 d / L_n, KL ps - pt,
//             cosine -(yt / D - <ys,yt> |yt| ys / (|ys| D^2)), D = |ys| |yt| + 1e-8
//   norm: dx = r (dy - mean(dy) - y mean(dy y)), r = 1 / sqrt(var + eps)
//   attention (satt; catt with c and p swapped): da_p = sum_c dx_cp f_cp,
//             dG_p = a_p (da_p - (1/P) sum_q a_q da_q) / tau,  df_cp = a_p dx_cp + dG_p sgn(f_cp) /
//             C
// The per-sample work (kd_att_norm_dist_sample.h) is written once (DETFORGE_HD) over a cooperative
// context: on CPU one thread per sample (tid 0, nt 1), on CUDA one block per sample (tid =
// threadIdx.x, block all-reduces). The backward recomputes the sample's forward (no saved
// activations). N == 0: NaN.
#pragma once
#include "kernels/dispatch.h"
#include "tensor/tensor.h"

namespace detforge::kernels {

struct KdAttNormDistParams {
  enum Att { kNoAtt = 0, kSatt = 1, kCatt = 2 };
  enum Norm { kNoNorm = 0, kNormHW = 1, kNormC = 2 };
  enum Dist { kL1 = 0, kL2 = 1, kSmoothL1 = 2, kKL = 3, kCosine = 4 };
  int att = kNoAtt;
  double tau = 0.5;
  int norm = kNoNorm;
  double eps = 1e-5;
  int dist = kL1;
};

namespace kd {

// Scratch one sample needs, in elements of the accumulator type A: ys, yt [C P] in A, then (at an
// even offset, 8-byte aligned) 7 V doubles, V = max(C, P): the attention vectors and norm
// statistics (mean, rstd) of s and t and one vector for the attention backward. Vectors are
// double so that statistics over short rows / columns keep full precision.
DETFORGE_HD inline int64_t and_vec_offset(int64_t c, int64_t p) {
  return (2 * c * p + 1) / 2 * 2;
}
template <class A>
DETFORGE_HD inline int64_t and_scratch(int64_t c, int64_t p) {
  const int64_t v = c > p ? c : p;
  return and_vec_offset(c, p) + 7 * v * static_cast<int64_t>(sizeof(double) / sizeof(A));
}

// Divisor of the summed per-sample values.
DETFORGE_HD inline int64_t and_denominator(const KdAttNormDistParams& p, int64_t n, int64_t c,
                                           int64_t hw) {
  if (p.dist == KdAttNormDistParams::kL2 || p.dist == KdAttNormDistParams::kCosine) return n;
  if (p.dist == KdAttNormDistParams::kKL) return n * c;
  return n * c * hw;
}

}  // namespace kd

// student, teacher: contiguous [N, C, H*W] (numel n * c * hw), one floating dtype. out: 0-dim.
using KdAttNormDistForwardFn = void (*)(const KdAttNormDistParams& p, const Tensor& out,
                                        const Tensor& student, const Tensor& teacher, int64_t n,
                                        int64_t c, int64_t hw);
using KdAttNormDistBackwardFn = void (*)(const KdAttNormDistParams& p, const Tensor& grad_student,
                                         const Tensor& grad_out, const Tensor& student,
                                         const Tensor& teacher, int64_t n, int64_t c, int64_t hw);
DF_DECLARE_DISPATCH(KdAttNormDistForwardFn, kd_att_norm_dist_forward_stub);
DF_DECLARE_DISPATCH(KdAttNormDistBackwardFn, kd_att_norm_dist_backward_stub);

}  // namespace detforge::kernels

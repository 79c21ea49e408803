// kd_masked_mse: DetKDS's foreground/background ("fgbg") feature input with the L2 distance, in
// one fused pass. student s, teacher t: [N, C, H, W] (any [N, C, *]); mask m: [N, 1, *], values in
// {0, 1} (soft masks in [0, 1] also work: the formula is linear in m):
//   d_i  = (s_i - t_i)^2
//   FG   = sum m d,  BG = sum (1 - m) d                       (m broadcast over C)
//   loss = alpha_fg FG / max(1, C sum m) + alpha_bg BG / max(1, C sum (1 - m))
// Normalisation: each region's sum is divided by its element count (mask area times C), i.e. a
// per-element MSE inside the region; max(1, .) makes an empty region contribute 0 instead of 0/0.
// One pass over s, t and m in double accumulators (the mask area is counted on the c == 0 rows of
// the same pass). It saves {w_fg, w_bg} = {alpha_fg / D_fg, alpha_bg / D_bg} (f64 [2]).
// Gradient w.r.t. the student only (teacher and mask get none):
//   d loss / d s_i = g 2 (s_i - t_i) (w_fg m_i + w_bg (1 - m_i))
#pragma once
#include "kernels/dispatch.h"
#include "kernels/math.h"
#include "tensor/tensor.h"

namespace detforge::kernels {

struct KdMaskedMseParams {
  double alpha_fg = 1.0;
  double alpha_bg = 1.0;
};

namespace kd {
// Loss and weights from the sums FG, BG and the mask area A over M = N * inner positions.
DETFORGE_HD inline double masked_mse_finish(const KdMaskedMseParams& p, double fg, double bg,
                                            double area, int64_t m, int64_t c, double* w) {
  double dfg = area * static_cast<double>(c), dbg = (static_cast<double>(m) - area) * c;
  dfg = dfg > 1.0 ? dfg : 1.0;
  dbg = dbg > 1.0 ? dbg : 1.0;
  w[0] = p.alpha_fg / dfg;
  w[1] = p.alpha_bg / dbg;
  return w[0] * fg + w[1] * bg;
}

template <class A>
DETFORGE_HD inline A masked_mse_grad(A s, A t, A m, A wfg, A wbg) {
  return A(2) * (s - t) * (wfg * m + wbg * (A(1) - m));
}
}  // namespace kd

// student, teacher: contiguous [n, c, inner]; mask: contiguous [n, 1, inner]; one floating
// dtype. out: 0-dim; weights: f64 [2], written for the backward.
using KdMaskedMseForwardFn = void (*)(const KdMaskedMseParams& p, const Tensor& out,
                                      const Tensor& weights, const Tensor& student,
                                      const Tensor& teacher, const Tensor& mask, int64_t n,
                                      int64_t c, int64_t inner);
using KdMaskedMseBackwardFn = void (*)(const KdMaskedMseParams& p, const Tensor& grad_student,
                                       const Tensor& grad_out, const Tensor& weights,
                                       const Tensor& student, const Tensor& teacher,
                                       const Tensor& mask, int64_t n, int64_t c, int64_t inner);
DF_DECLARE_DISPATCH(KdMaskedMseForwardFn, kd_masked_mse_forward_stub);
DF_DECLARE_DISPATCH(KdMaskedMseBackwardFn, kd_masked_mse_backward_stub);

}  // namespace detforge::kernels

// kd_soft_ce: Hinton-style soft cross-entropy of knowledge distillation (DetKDS 3.1, the logit
// term of the formula), fused: one kernel forward, one kernel backward.
//   student s, teacher t: [N, C]; temperature T > 0.
//   p = softmax(t / T),  log q = log_softmax(s / T)          (per row, over C)
//   loss = (1 / N) sum_n  -sum_c p_nc log q_nc
// No T^2 factor is applied (the formula has none); Hinton's T^2 gradient rescaling is
// the caller's loss weight. Per row, with M_s = max_c s/T and lse_s = M_s + log sum_c exp(s/T -
// M_s), since sum_c p_c = 1:
//   row loss = lse_s - sum_c p_c s_c / T
//            = lse_s - (sum_c exp(t_c/T - M_t) s_c / T) / Z_t,  Z_t = sum_c exp(t_c/T - M_t)
// so a row needs M_s, M_t, Z_s, Z_t and W = sum_c exp(t_c/T - M_t) s_c / T (float/double
// accumulators, see kd_acc_t). Gradient w.r.t. the student only (the teacher is a target):
//   d loss / d s_nc = g (q_nc - p_nc) / (N T)
// Empty C: a row loss of 0. N == 0: NaN (a mean of nothing, as torch .mean()).
#pragma once
#include "kernels/dispatch.h"
#include "kernels/math.h"
#include "tensor/tensor.h"

namespace detforge::kernels {

struct KdSoftCeParams {
  double temperature = 1.0;
};

namespace kd {
// Row statistics of kd_soft_ce in the accumulator type A.
template <class A>
struct SoftCeRow {
  A ms, mt;  // max of s/T and of t/T
  A zs, zt;  // sum exp(s/T - ms), sum exp(t/T - mt)
  A w;       // sum exp(t/T - mt) * s/T
};

// Row loss from its statistics: lse_s - W / Z_t.
template <class A>
DETFORGE_HD inline A soft_ce_row_loss(const SoftCeRow<A>& r) {
  return r.ms + dmath::log(r.zs) - r.w / r.zt;
}

// d row loss / d (s_c) before the g / N factor: (q_c - p_c) / T.
template <class A>
DETFORGE_HD inline A soft_ce_grad(A s_over_t, A t_over_t, const SoftCeRow<A>& r, A inv_t) {
  A q = dmath::exp(s_over_t - r.ms) / r.zs;
  A p = dmath::exp(t_over_t - r.mt) / r.zt;
  return (q - p) * inv_t;
}
}  // namespace kd

// student, teacher: contiguous [N, C], one floating dtype. out: 0-dim.
using KdSoftCeForwardFn = void (*)(const KdSoftCeParams& p, const Tensor& out,
                                   const Tensor& student, const Tensor& teacher);
// grad_student: contiguous [N, C]; grad_out 0-dim (read on the device on CUDA: no host sync).
using KdSoftCeBackwardFn = void (*)(const KdSoftCeParams& p, const Tensor& grad_student,
                                    const Tensor& grad_out, const Tensor& student,
                                    const Tensor& teacher);
DF_DECLARE_DISPATCH(KdSoftCeForwardFn, kd_soft_ce_forward_stub);
DF_DECLARE_DISPATCH(KdSoftCeBackwardFn, kd_soft_ce_backward_stub);

}  // namespace detforge::kernels

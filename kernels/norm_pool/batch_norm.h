// Batch, group and layer normalisation. The per-element math (normalise, backward element) is
// shared by the CPU loops (cpu/batch_norm.cpp, cpu/group_norm.cpp) and the CUDA kernels.
//
// Layouts seen by the kernels (all contiguous, one dtype; statistics in stat_dtype(dtype)):
//   batch_norm: x [N, C, S] (S = product of spatial dims, 1 for [N, C]); stats per channel [C].
//   group_norm: x [N, C, S] with C split into G groups; stats per (n, g) row [N * G].
//   layer_norm: the same kernel with N = rows, C = normalised numel, S = 1, G = 1 (the affine
//   parameters are then per "channel" = per normalised element).
#pragma once
#include "kernels/dispatch.h"
#include "kernels/math.h"
#include "tensor/tensor.h"

namespace detforge::kernels {

// Statistics are kept in float for f32/f16/bf16 and in double for f64.
inline DType stat_dtype(DType t) {
  return t == DType::f64 ? DType::f64 : DType::f32;
}

// y = (x - mean) * invstd * w + b
template <class A>
DETFORGE_HD inline A norm_apply_elem(A x, A mean, A invstd, A w, A b) {
  return (x - mean) * invstd * w + b;
}

// Backward of y = xhat * w + b, xhat = (x - mean) * invstd, for one element, written with
// dyw = dy * w. train: the statistics depend on x; mean_dyw / mean_dyw_xhat are the means of dyw
// and dyw * xhat over the element's reduction set. Eval (batch_norm with running stats): constants.
template <class A>
DETFORGE_HD inline A norm_backward_elem(A dyw, A xhat, A invstd, A mean_dyw, A mean_dyw_xhat,
                                        bool train) {
  if (!train) return dyw * invstd;
  return invstd * (dyw - mean_dyw - xhat * mean_dyw_xhat);
}

// Running statistic update with momentum; var_unbiased = var_biased * M / (M - 1).
DETFORGE_HD inline double running_update(double running, double stat, double momentum) {
  return (1.0 - momentum) * running + momentum * stat;
}

struct BatchNormShape {
  int64_t N = 0, C = 0, S = 0;
};

// Training statistics: mean[C] and invstd[C] (stat dtype) from the biased variance; when
// running_mean / running_var are defined (contiguous, stat dtype) they are updated in place.
using BnStatsFn = void (*)(const Tensor& x, const BatchNormShape& s, const Tensor& mean,
                           const Tensor& invstd, const Tensor& running_mean,
                           const Tensor& running_var, double momentum, double eps);
// out = (x - mean[c]) * invstd[c] * w[c] + b[c]; weight / bias may be undefined.
using BnApplyFn = void (*)(const Tensor& out, const Tensor& x, const BatchNormShape& s,
                           const Tensor& mean, const Tensor& invstd, const Tensor& weight,
                           const Tensor& bias);
// Fused backward over saved mean/invstd; any of grad_input/grad_weight/grad_bias may be undefined.
using BnBackwardFn = void (*)(const Tensor& grad_input, const Tensor& grad_weight,
                              const Tensor& grad_bias, const Tensor& grad_out, const Tensor& x,
                              const BatchNormShape& s, const Tensor& mean, const Tensor& invstd,
                              const Tensor& weight, bool train);
// Eval: invstd[c] = 1 / sqrt(var[c] + eps) (both contiguous, stat dtype).
using BnInvstdFn = void (*)(const Tensor& invstd, const Tensor& var, double eps);
DF_DECLARE_DISPATCH(BnStatsFn, batch_norm_stats_stub);
DF_DECLARE_DISPATCH(BnInvstdFn, batch_norm_invstd_stub);
DF_DECLARE_DISPATCH(BnApplyFn, batch_norm_apply_stub);
DF_DECLARE_DISPATCH(BnBackwardFn, batch_norm_backward_stub);

struct GroupNormShape {
  int64_t N = 0, C = 0, S = 0, G = 1;
};
// out, mean[N*G], rstd[N*G] (stat dtype); weight / bias per channel, may be undefined.
using GnForwardFn = void (*)(const Tensor& out, const Tensor& mean, const Tensor& rstd,
                             const Tensor& x, const Tensor& weight, const Tensor& bias,
                             const GroupNormShape& s, double eps);
using GnBackwardFn = void (*)(const Tensor& grad_input, const Tensor& grad_weight,
                              const Tensor& grad_bias, const Tensor& grad_out, const Tensor& x,
                              const Tensor& mean, const Tensor& rstd, const Tensor& weight,
                              const GroupNormShape& s);
DF_DECLARE_DISPATCH(GnForwardFn, group_norm_forward_stub);
DF_DECLARE_DISPATCH(GnBackwardFn, group_norm_backward_stub);

}  // namespace detforge::kernels

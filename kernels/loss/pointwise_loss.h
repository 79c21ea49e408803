// Elementwise losses (l1, mse, smooth_l1, kl_div, binary_cross_entropy_with_logits): per-element
// DETFORGE_HD math in <loss>.h, one kernel family for all of them. Operands arrive contiguous, of
// one floating dtype and one numel (the autograd layer broadcasts); weight/pos_weight may be
// undefined (then 1).
#pragma once
#include "kernels/dispatch.h"
#include "kernels/loss/loss_common.h"
#include "kernels/math.h"
#include "tensor/tensor.h"

namespace detforge::kernels {

enum class PointwiseLoss { l1, mse, smooth_l1, kl_div, bce_with_logits };

struct PointwiseLossParams {
  PointwiseLoss kind = PointwiseLoss::mse;
  LossReduction reduction = LossReduction::mean;
  double beta = 1.0;        // smooth_l1
  bool log_target = false;  // kl_div
};

// out: x's shape for reduction none, else a 0-dim tensor (mean divides by numel on the device).
using PointwiseLossForwardFn = void (*)(const PointwiseLossParams& p, const Tensor& out,
                                        const Tensor& x, const Tensor& y, const Tensor& weight,
                                        const Tensor& pos_weight);
// grad_x / grad_y: contiguous, x's shape, or undefined when not wanted. grad_out: x's shape for
// reduction none, else 0-dim (read on the device: no host sync).
using PointwiseLossBackwardFn = void (*)(const PointwiseLossParams& p, const Tensor& grad_x,
                                         const Tensor& grad_y, const Tensor& grad_out,
                                         const Tensor& x, const Tensor& y, const Tensor& weight,
                                         const Tensor& pos_weight);
DF_DECLARE_DISPATCH(PointwiseLossForwardFn, pointwise_loss_forward_stub);
DF_DECLARE_DISPATCH(PointwiseLossBackwardFn, pointwise_loss_backward_stub);

}  // namespace detforge::kernels

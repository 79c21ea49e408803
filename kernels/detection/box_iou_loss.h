// Paired box losses (generalized/distance/complete/efficient IoU loss): boxes1, boxes2 [n, 4]
// contiguous, one dtype (f32 or f64); the per-pair math is box_pair<K, kLoss = true> in box_iou.h.
#pragma once
#include "kernels/detection/box_iou.h"
#include "kernels/loss/loss_common.h"

namespace detforge::kernels {

struct BoxIouLossParams {
  BoxIouKind kind = BoxIouKind::giou;  // giou, diou, ciou or eiou
  LossReduction reduction = LossReduction::none;
  double eps = 1e-7;
  // The eps of the iou and distance terms: torchvision's complete_box_iou_loss calls its diou
  // helper without eps (so 1e-7 there) and uses eps only in alpha.
  double eps_d() const { return kind == BoxIouKind::ciou ? 1e-7 : eps; }
};

// out: [n] for reduction none, else 0-dim (mean of nothing is 0, as torchvision).
using BoxIouLossForwardFn = void (*)(const BoxIouLossParams& p, const Tensor& out,
                                     const Tensor& boxes1, const Tensor& boxes2);
// grad1 / grad2: [n, 4] or undefined. grad_out: [n] for none, else 0-dim (read on the device).
using BoxIouLossBackwardFn = void (*)(const BoxIouLossParams& p, const Tensor& grad1,
                                      const Tensor& grad2, const Tensor& grad_out,
                                      const Tensor& boxes1, const Tensor& boxes2);
DF_DECLARE_DISPATCH(BoxIouLossForwardFn, box_iou_loss_forward_stub);
DF_DECLARE_DISPATCH(BoxIouLossBackwardFn, box_iou_loss_backward_stub);

}  // namespace detforge::kernels

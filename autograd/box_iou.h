// The IoU family of xyxy boxes with torchvision 0.14's names and semantics (torchvision.ops):
// pairwise metrics [N, 4] x [M, 4] -> [N, M] and paired losses [..., 4] -> [...] (or a scalar).
// All are differentiable w.r.t. both box sets (one fused backward kernel each; the backward is
// not itself differentiable). Non-f32/f64 boxes compute and return f32 (torchvision's _upcast).
#pragma once
#include <string>

#include "tensor/tensor.h"

namespace detforge {

DETFORGE_API Tensor box_iou(const Tensor& boxes1, const Tensor& boxes2);
DETFORGE_API Tensor generalized_box_iou(const Tensor& boxes1, const Tensor& boxes2);
DETFORGE_API Tensor distance_box_iou(const Tensor& boxes1, const Tensor& boxes2, double eps = 1e-7);
// alpha = v / (1 - iou + v + eps) is a constant for the gradient, as torchvision's no_grad.
DETFORGE_API Tensor complete_box_iou(const Tensor& boxes1, const Tensor& boxes2, double eps = 1e-7);

// reduction: "none" | "mean" | "sum" (mean of no boxes is 0). boxes1/boxes2 broadcast.
DETFORGE_API Tensor generalized_box_iou_loss(const Tensor& boxes1, const Tensor& boxes2,
                                             const std::string& reduction = "none",
                                             double eps = 1e-7);
DETFORGE_API Tensor distance_box_iou_loss(const Tensor& boxes1, const Tensor& boxes2,
                                          const std::string& reduction = "none", double eps = 1e-7);
// As torchvision 0.14: eps reaches alpha only; the iou/distance part always uses 1e-7.
DETFORGE_API Tensor complete_box_iou_loss(const Tensor& boxes1, const Tensor& boxes2,
                                          const std::string& reduction = "none", double eps = 1e-7);
// E-IoU loss (Zhang et al. 2021): 1 - iou + rho^2/c^2 + (w - wg)^2/(Cw^2 + eps) + (h - hg)^2/(Ch^2
// + eps).
DETFORGE_API Tensor efficient_box_iou_loss(const Tensor& boxes1, const Tensor& boxes2,
                                           const std::string& reduction = "none",
                                           double eps = 1e-7);

}  // namespace detforge

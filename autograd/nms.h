// Non-maximum suppression with torchvision 0.14's names and semantics (torchvision.ops.nms,
// batched_nms). Forward only (not differentiable): the results are int64 indices into boxes,
// in descending score order (equal scores: ascending index). On CUDA the kept count is the one
// device-to-host sync (named in kernels/detection/cuda/nms.cu).
#pragma once
#include "tensor/tensor.h"

namespace detforge {

// boxes [N, 4] xyxy, scores [N]: drops every box whose IoU with a kept higher-scored box is
// > iou_threshold.
DETFORGE_API Tensor nms(const Tensor& boxes, const Tensor& scores, double iou_threshold);
// idxs [N] integer class of each box: NMS within each class only.
DETFORGE_API Tensor batched_nms(const Tensor& boxes, const Tensor& scores, const Tensor& idxs,
                                double iou_threshold);

}  // namespace detforge

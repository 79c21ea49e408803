// torchvision 0.14 BoxCoder encode_single / decode_single as fused kernels
// (kernels/detection/box_coder.h). detection/box_coder.h wraps them in the BoxCoder class.
#pragma once
#include <array>

#include "tensor/tensor.h"

namespace detforge {

// Regression targets [N, 4] of reference_boxes (e.g. matched gt) relative to proposals (e.g.
// anchors), both [N, 4] x1y1x2y2; computed in their promoted dtype. Not differentiable (targets
// need no gradient): the result never has history.
DETFORGE_API Tensor box_coder_encode(const Tensor& reference_boxes, const Tensor& proposals,
                                     const std::array<double, 4>& weights);
// Boxes [N, 4K] x1y1x2y2 from rel_codes [N, 4K] and boxes [N, 4] (converted to rel_codes' dtype).
// Differentiable in rel_codes and boxes (one fused backward kernel).
DETFORGE_API Tensor box_coder_decode(const Tensor& rel_codes, const Tensor& boxes,
                                     const std::array<double, 4>& weights,
                                     double bbox_xform_clip = 4.135166556742356);

}  // namespace detforge

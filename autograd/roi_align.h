// Differentiable ROI Align (torchvision 0.14's torchvision.ops.roi_align).
#pragma once
#include "tensor/tensor.h"

namespace detforge {

// input [N, C, H, W] (float32 / float64; float16 / bfloat16 are computed in float32), rois [K, 5] =
// (batch index, x1, y1, x2, y2) in image coordinates (converted to the input's dtype). output_size:
// one value or (h, w). Returns [K, C, h, w]; differentiable w.r.t. input only (as torchvision).
// deterministic: on CUDA, a backward without atomics whose gradients are bit-identical run to run
// (the CPU always is).
DETFORGE_API Tensor roi_align(const Tensor& input, const Tensor& rois, const Shape& output_size,
                              double spatial_scale = 1.0, int64_t sampling_ratio = -1,
                              bool aligned = false, bool deterministic = false);

}  // namespace detforge

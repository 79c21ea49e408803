// Differentiable 2-D convolution (torch.nn.functional.conv2d): NCHW input (or CHW unbatched),
// OIHW weight, optional bias. The backward runs the backward-data and backward-weight kernels;
// it is first-order only (a second backward through it throws).
#pragma once
#include <vector>

#include "kernels/conv/conv2d.h"
#include "tensor/tensor.h"

namespace detforge {

DETFORGE_API Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias = Tensor(),
                           std::vector<int64_t> stride = {1}, std::vector<int64_t> padding = {0},
                           std::vector<int64_t> dilation = {1}, int64_t groups = 1);

// The gradient kernels as plain functions (no graph): grad input, and grad weight / grad bias.
DETFORGE_API Tensor conv2d_backward_input(const Tensor& grad_output, const Tensor& weight,
                                          const Shape& input_shape, const kernels::Conv2dParams& p);
DETFORGE_API std::pair<Tensor, Tensor> conv2d_backward_weight(const Tensor& grad_output,
                                                              const Tensor& input,
                                                              const Shape& weight_shape,
                                                              bool with_bias,
                                                              const kernels::Conv2dParams& p);

}  // namespace detforge

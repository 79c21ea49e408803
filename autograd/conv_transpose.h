// Differentiable 2-D transposed convolution (torch.nn.functional.conv_transpose2d): NCHW (or CHW)
// input, weight [C_in, C_out / groups, KH, KW], optional bias [C_out]. Output size per axis: (H -
// 1) * stride - 2 * padding + dilation * (KH - 1) + output_padding + 1. Built on the conv2d
// kernels: the forward is conv2d's backward-data kernel, the input gradient a conv2d forward and
// the weight gradient conv2d's backward-weight kernel with the roles of input and gradient swapped.
// First-order only, as conv2d.
#pragma once
#include <vector>

#include "tensor/tensor.h"

namespace detforge {

DETFORGE_API Tensor conv_transpose2d(const Tensor& input, const Tensor& weight,
                                     const Tensor& bias = Tensor(),
                                     std::vector<int64_t> stride = {1},
                                     std::vector<int64_t> padding = {0},
                                     std::vector<int64_t> output_padding = {0}, int64_t groups = 1,
                                     std::vector<int64_t> dilation = {1});

}  // namespace detforge

// Differentiable matrix products (PyTorch semantics).
#pragma once
#include "tensor/tensor.h"

namespace detforge {

// torch.matmul: 1-D x 1-D is a dot product (0-dim result); a 1-D operand is promoted to a matrix
// (a row on the left, a column on the right) and the added dim removed again; batch dims broadcast.
DETFORGE_API Tensor matmul(const Tensor& input, const Tensor& other);
// input [..., in] @ weight[out, in]^T (+ bias[out] when defined).
DETFORGE_API Tensor linear(const Tensor& input, const Tensor& weight,
                           const Tensor& bias = Tensor());

}  // namespace detforge

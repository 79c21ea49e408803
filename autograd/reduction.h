// Differentiable reductions. `dims` empty = all dims.
#pragma once
#include "tensor/tensor.h"

namespace detforge {

DETFORGE_API Tensor sum(const Tensor& x, const Shape& dims = {}, bool keepdim = false);
DETFORGE_API Tensor mean(const Tensor& x, const Shape& dims = {}, bool keepdim = false);
// Sums a broadcast gradient back down to `shape` (the backward of broadcasting).
DETFORGE_API Tensor sum_to(const Tensor& x, const Shape& shape);

}  // namespace detforge

// Reductions over a set of dims. The input is presented as [outer, inner] with the reduced dims
// innermost (a permuted view, any strides); each output element reduces `inner` elements.
#pragma once
#include "kernels/dispatch.h"
#include "tensor/tensor.h"

namespace detforge::kernels {

enum class ReduceOp { sum, mean, prod, max, min, amax, amin, norm1, norm2, logsumexp };

// out: contiguous, numel == outer; in: the permuted input (reduced dims last).
// n_reduced: how many trailing dims of `in` are reduced.
using ReduceFn = void (*)(ReduceOp op, const Tensor& out, const Tensor& in, int n_reduced);
DF_DECLARE_DISPATCH(ReduceFn, reduce_stub);

}  // namespace detforge::kernels

// softmax / log_softmax along one dim of a contiguous tensor viewed as [outer, dim, inner]:
// fused per row (one pass for the max, one for the sum of exp, one write). Backward likewise:
//   softmax:     gi = y * (g - sum(g * y))
//   log_softmax: gi = g - exp(y) * sum(g)
#pragma once
#include "kernels/dispatch.h"
#include "kernels/math.h"
#include "tensor/tensor.h"

namespace detforge::kernels {

template <class A>
DETFORGE_HD inline A softmax_out(A x, A max, A sum, bool log) {
  return log ? (x - max) - dmath::log(sum) : dmath::exp(x - max) / sum;
}

// in, out: contiguous, same shape and floating dtype.
using SoftmaxFn = void (*)(const Tensor& out, const Tensor& in, int64_t dim, bool log);
DF_DECLARE_DISPATCH(SoftmaxFn, softmax_stub);
// grad_in, grad_out, out: contiguous, same shape and dtype.
using SoftmaxBackwardFn = void (*)(const Tensor& grad_in, const Tensor& grad_out, const Tensor& out,
                                   int64_t dim, bool log);
DF_DECLARE_DISPATCH(SoftmaxBackwardFn, softmax_backward_stub);

}  // namespace detforge::kernels

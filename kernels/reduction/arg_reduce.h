// max/min along one dim with indices, and argmax/argmin. `in` is a view whose last dim is the
// reduced one; values (optional: undefined for argmax/argmin) and indices (int64) are contiguous
// with numel == in.numel() / in.size(-1). NaN counts as the extremum; ties give the first index.
#pragma once
#include <cstdint>

#include "kernels/dispatch.h"
#include "tensor/tensor.h"

namespace detforge::kernels {

// Whether v (at a later index) replaces the current best b: strictly better, or a first NaN.
template <bool IsMax, class A>
DETFORGE_HD inline bool arg_better(A v, A b) {
  bool vnan = v != v, bnan = b != b;
  if (bnan) return false;
  if (vnan) return true;
  return IsMax ? v > b : v < b;
}

// Combining two partial (value, index) results of one output: the better value wins, an equal
// value keeps the smaller index.
template <bool IsMax, class A>
DETFORGE_HD inline bool arg_take_other(A v, int64_t vi, A b, int64_t bi) {
  if (arg_better<IsMax>(v, b)) return true;
  if (arg_better<IsMax>(b, v)) return false;
  return vi < bi;  // equal (or both NaN)
}

using ArgReduceFn = void (*)(bool is_max, const Tensor& values, const Tensor& indices,
                             const Tensor& in);
DF_DECLARE_DISPATCH(ArgReduceFn, arg_reduce_stub);

}  // namespace detforge::kernels

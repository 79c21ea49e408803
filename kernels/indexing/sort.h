// sort / topk of the rows of a contiguous [rows, n] tensor (callers move the sorted dim last).
// Ordering is PyTorch's: NaN compares larger than every number (last ascending, first descending).
#pragma once
#include "kernels/dispatch.h"
#include "kernels/math.h"
#include "tensor/tensor.h"

namespace detforge::kernels {

template <class T>
DETFORGE_HD inline bool is_nan_value(T v) {
  return v != v;  // false for integers
}
// Strict weak orders with NaN largest.
template <class T>
DETFORGE_HD inline bool sort_less(T a, T b) {
  return a < b || (!is_nan_value(a) && is_nan_value(b));
}
template <class T>
DETFORGE_HD inline bool sort_greater(T a, T b) {
  return a > b || (is_nan_value(a) && !is_nan_value(b));
}

// values/indices: contiguous [rows, n] (indices int64); in: contiguous [rows, n]. Always stable.
using SortFn = void (*)(const Tensor& values, const Tensor& indices, const Tensor& in,
                        bool descending);
// values/indices: contiguous [rows, k]; always returned sorted (ties: lower index first on CPU).
using TopkFn = void (*)(const Tensor& values, const Tensor& indices, const Tensor& in, int64_t k,
                        bool largest);
DF_DECLARE_DISPATCH(SortFn, sort_stub);
DF_DECLARE_DISPATCH(TopkFn, topk_stub);

}  // namespace detforge::kernels

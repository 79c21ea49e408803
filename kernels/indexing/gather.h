// gather / scatter_add along one dim: the kernels behind gather, scatter_add, index_select (an
// expanded index view), embedding and their backwards.
//
//   gather:      out[p] = in[p with p[dim] := index[p]]              for p over index's shape
//   scatter_add: self[p with p[dim] := index[p]] += src[p]           for p over index's shape
//
// Any strides (an index may be an expanded view with stride 0). Index values are checked on the
// CPU (IndexError-style ShapeError); the CUDA kernels trust them (checking would need a host sync).
#pragma once
#include "kernels/dispatch.h"
#include "tensor/strided_index.h"
#include "tensor/tensor.h"

namespace detforge::kernels {

// The index as int64, or -1 when outside [0, size) (PyTorch's gather/index_select/embedding do
// not wrap negative indices).
template <class I>
DETFORGE_HD inline int64_t checked_index(I i, int64_t size) {
  int64_t v = static_cast<int64_t>(i);
  return (v < 0 || v >= size) ? -1 : v;
}

// Iteration over index's shape: operand 0 = the dense tensor (gather's out, scatter's src),
// 1 = index, 2 = the indexed tensor with its `dim` stride zeroed (added as index * dim stride).
inline StridedIndex<3> make_gather_index(const Tensor& dense, const Tensor& index,
                                         const Tensor& indexed, int64_t dim) {
  std::vector<int64_t> st[3] = {dense.strides(), index.strides(), indexed.strides()};
  st[2][dim] = 0;
  return make_strided_index<3>(index.shape(), st);
}

// out has index's shape; in is indexed along dim.
using GatherFn = void (*)(const Tensor& out, const Tensor& in, const Tensor& index, int64_t dim);
// self is accumulated into in place; src has at least index's extent in every dim.
using ScatterAddFn = void (*)(const Tensor& self, const Tensor& index, const Tensor& src,
                              int64_t dim);
DF_DECLARE_DISPATCH(GatherFn, gather_stub);
DF_DECLARE_DISPATCH(ScatterAddFn, scatter_add_stub);

}  // namespace detforge::kernels

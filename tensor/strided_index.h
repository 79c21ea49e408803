// Maps a linear element index to the element offsets of up to N operands that share one
// (broadcast) shape with their own strides. Host/device: used by the CPU loops and CUDA kernels.
#pragma once
#include <cstdint>
#include <vector>

#include "tensor/error.h"
#include "tensor/macros.h"

namespace detforge {

constexpr int kMaxIndexDims = 12;

template <int N>
struct StridedIndex {
  int ndim = 0;
  int64_t sizes[kMaxIndexDims];               // innermost first
  int64_t strides[N][kMaxIndexDims];          // element strides, innermost first

  // offsets[k] = element offset of operand k for linear index `i` (row-major over sizes).
  DETFORGE_HD void offsets(int64_t i, int64_t* out) const {
    for (int k = 0; k < N; ++k) out[k] = 0;
    for (int d = 0; d < ndim; ++d) {
      int64_t idx = i % sizes[d];
      i /= sizes[d];
      for (int k = 0; k < N; ++k) out[k] += idx * strides[k][d];
    }
  }
};

// Builds a StridedIndex for `shape` (outermost first) and per-operand element strides (same rank;
// a broadcast dim has stride 0). Size-1 dims are dropped and contiguous neighbours merged, so a
// contiguous problem becomes one dim.
template <int N>
StridedIndex<N> make_strided_index(const std::vector<int64_t>& shape,
                                   const std::vector<int64_t> (&strides)[N]) {
  // Collect dims innermost first, skipping size-1 dims.
  std::vector<int64_t> sz;
  std::vector<std::vector<int64_t>> st(N);
  for (int d = static_cast<int>(shape.size()) - 1; d >= 0; --d) {
    if (shape[d] == 1) continue;
    bool merge = !sz.empty();
    if (merge) {
      for (int k = 0; k < N; ++k)
        if (strides[k][d] != st[k].back() * sz.back()) merge = false;
    }
    if (merge) {
      sz.back() *= shape[d];
    } else {
      sz.push_back(shape[d]);
      for (int k = 0; k < N; ++k) st[k].push_back(strides[k][d]);
    }
  }
  StridedIndex<N> r;
  DF_CHECK(static_cast<int>(sz.size()) <= kMaxIndexDims, ShapeError, "[strided index] more than ",
           kMaxIndexDims, " non-mergeable dims");
  r.ndim = static_cast<int>(sz.size());
  for (int d = 0; d < r.ndim; ++d) {
    r.sizes[d] = sz[d];
    for (int k = 0; k < N; ++k) r.strides[k][d] = st[k][d];
  }
  return r;
}

}  // namespace detforge

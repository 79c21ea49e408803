// Host helpers shared by the CPU (oneDNN) and CUDA (cuBLAS) matmul kernels: how a strided matrix is
// handed to a BLAS call without copying, and the element offsets of every matrix in a batch.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "tensor/tensor.h"

namespace detforge::kernels {

// A row-major (rows x cols) matrix with element strides (rs, cs) as a row-major BLAS operand:
// trans 'N' with leading dim ld (rows contiguous) or 'T' (columns contiguous). False when neither
// fits (the caller copies to contiguous first).
inline bool blas_layout(int64_t rows, int64_t cols, int64_t rs, int64_t cs, char& trans,
                        int64_t& ld) {
  if ((cs == 1 || cols == 1) && (rows == 1 || rs >= cols)) {
    trans = 'N';
    ld = rows == 1 ? std::max<int64_t>(cols, 1) : rs;
    return ld >= std::max<int64_t>(cols, 1);
  }
  if ((rs == 1 || rows == 1) && (cols == 1 || cs >= rows)) {
    trans = 'T';
    ld = cols == 1 ? std::max<int64_t>(rows, 1) : cs;
    return ld >= std::max<int64_t>(rows, 1);
  }
  return false;
}

// Element offsets of every matrix of t [..., R, C] (batch dims of an expanded view may not flatten
// into one stride).
inline std::vector<int64_t> batch_offsets(const Tensor& t) {
  int64_t nb = t.dim() - 2;
  int64_t count = 1;
  for (int64_t d = 0; d < nb; ++d) count *= t.size(d);
  std::vector<int64_t> offs(count);
  std::vector<int64_t> idx(nb, 0);
  for (int64_t i = 0; i < count; ++i) {
    int64_t o = 0;
    for (int64_t d = 0; d < nb; ++d) o += idx[d] * t.stride(d);
    offs[i] = o;
    for (int64_t d = nb - 1; d >= 0; --d) {
      if (++idx[d] < t.size(d)) break;
      idx[d] = 0;
    }
  }
  return offs;
}

// The common stride when the offsets form an arithmetic sequence (a strided batch), else -1.
inline int64_t uniform_stride(const std::vector<int64_t>& offs) {
  if (offs.size() < 2) return 0;
  int64_t s = offs[1] - offs[0];
  for (size_t i = 2; i < offs.size(); ++i)
    if (offs[i] - offs[i - 1] != s) return -1;
  return s;
}

}  // namespace detforge::kernels

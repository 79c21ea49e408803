// Warp/block reduction helpers for the reduction kernels (one block per output row).
#pragma once
#include <cuda_runtime.h>

#include "tensor/strided_index.h"
#include "tensor/tensor.h"

namespace detforge::kernels::cuda_reduce {

constexpr int kThreads = 256;
constexpr int kWarps = kThreads / 32;

// Shuffle of any trivially copyable value, word by word.
template <class T>
__device__ T shfl_down(T v, int o) {
  static_assert(sizeof(T) % 4 == 0, "shfl_down: size must be a multiple of 4 bytes");
  int w[sizeof(T) / 4];
  memcpy(w, &v, sizeof(T));
#pragma unroll
  for (int i = 0; i < static_cast<int>(sizeof(T) / 4); ++i)
    w[i] = __shfl_down_sync(0xffffffffu, w[i], o);
  memcpy(&v, w, sizeof(T));
  return v;
}

// Reduces `v` across the block with combine(a, b) (returns the combined value); the result is
// valid in every thread. T must be trivially copyable.
template <class T, class C>
__device__ T block_reduce(T v, C combine) {
  __shared__ unsigned char smem_raw[kWarps * sizeof(T)];
  T* smem = reinterpret_cast<T*>(smem_raw);
  for (int o = 16; o > 0; o >>= 1) v = combine(v, shfl_down(v, o));
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  __syncthreads();  // smem may still be read by a previous call
  if (lane == 0) smem[warp] = v;
  __syncthreads();
  v = smem[0];
  for (int w = 1; w < static_cast<int>(blockDim.x >> 5); ++w) v = combine(v, smem[w]);
  return v;
}

// Outer/reduced index pair of a view whose trailing n_reduced dims are reduced.
struct RowLayout {
  StridedIndex<1> outer, red;
  int64_t n_out, n_in;
};
inline RowLayout row_layout(const Tensor& in, int n_reduced) {
  const auto& sh = in.shape();
  const auto& st = in.strides();
  size_t k = sh.size() - static_cast<size_t>(n_reduced);
  std::vector<int64_t> osh(sh.begin(), sh.begin() + k), ost(st.begin(), st.begin() + k);
  std::vector<int64_t> rsh(sh.begin() + k, sh.end()), rst(st.begin() + k, st.end());
  const std::vector<int64_t> os[1] = {ost}, rs[1] = {rst};
  RowLayout l{make_strided_index<1>(osh, os), make_strided_index<1>(rsh, rs), shape_numel(osh),
              shape_numel(rsh)};
  return l;
}

__device__ inline int64_t offset_of(const StridedIndex<1>& ix, int64_t i) {
  int64_t off;
  ix.offsets(i, &off);
  return off;
}

}  // namespace detforge::kernels::cuda_reduce

// CUDA helpers of the loss kernels: block sums in double and a deterministic two-pass reduction
// (per-block partials, then one block finalises) with the mean normaliser applied on the device.
#pragma once
#include "tensor/cuda/cuda_check.h"
#include "tensor/dtype_cast.h"

namespace detforge::kernels::cuda_loss {

constexpr int kThreads = 256;
constexpr int kMaxBlocks = 1024;  // partials the finaliser reads

// Sum of v over the block (K values at once); the result is valid in thread 0.
template <int K>
__device__ inline void block_sum(double (&v)[K]) {
  __shared__ double warp_part[K][kThreads / 32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  for (int k = 0; k < K; ++k) {
    for (int off = 16; off > 0; off >>= 1) v[k] += __shfl_down_sync(0xffffffffu, v[k], off);
    if (lane == 0) warp_part[k][warp] = v[k];
  }
  __syncthreads();
  if (warp == 0) {
    const int nw = blockDim.x / 32;
    for (int k = 0; k < K; ++k) {
      v[k] = lane < nw ? warp_part[k][lane] : 0.0;
      for (int off = 16; off > 0; off >>= 1) v[k] += __shfl_down_sync(0xffffffffu, v[k], off);
    }
  }
}

// partials: [K][nblocks]. out[0] = sum0 / divisor, where divisor is `count` (count > 0), the
// second sum (count < 0 with K > 1: cross_entropy's weighted mean; K == 1: 0, a mean of nothing)
// or 1 (count == 0: plain sum). With
// total != nullptr, total[0] = the second sum.
template <class T, class W, int K>
__global__ void finalize_kernel(const double* partials, int nblocks, T* out, int64_t count,
                                W* total) {
  double v[K];
  for (int k = 0; k < K; ++k) {
    v[k] = 0.0;
    for (int i = threadIdx.x; i < nblocks; i += blockDim.x) v[k] += partials[k * nblocks + i];
  }
  block_sum<K>(v);
  if (threadIdx.x == 0) {
    double s = v[0];
    if (count > 0) s /= static_cast<double>(count);
    if constexpr (K > 1) {
      if (count < 0) s /= v[1];
      if (total) total[0] = static_cast<W>(v[1]);
    } else {
      if (count < 0)
        s = __longlong_as_double(0x7ff8000000000000LL);  // mean of nothing: NaN, as PyTorch
    }
    if (out) out[0] = cast_to<T>(s);
  }
}

inline int reduce_blocks(int64_t n) {
  int64_t b = (n + kThreads - 1) / kThreads;
  return static_cast<int>(b < 1 ? 1 : (b > kMaxBlocks ? kMaxBlocks : b));
}

}  // namespace detforge::kernels::cuda_loss

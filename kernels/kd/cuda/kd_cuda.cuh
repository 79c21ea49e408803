// CUDA helpers of the KD kernels: one block per row / sample / channel; warp-shuffle block
// reductions whose results are broadcast to the whole block through shared memory.
#pragma once
#include "kernels/loss/cuda/loss_cuda.cuh"

namespace detforge::kernels::kd_cuda {

constexpr int kThreads = cuda_loss::kThreads;  // 256

// Block max of v (NaN ignored, as the CPU max); every thread gets the result.
template <class A>
__device__ inline A block_max_all(A v) {
  __shared__ A part[kThreads / 32];
  __shared__ A result;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  for (int off = 16; off > 0; off >>= 1) {
    A o = __shfl_down_sync(0xffffffffu, v, off);
    v = o > v ? o : v;
  }
  if (lane == 0) part[warp] = v;
  __syncthreads();
  if (warp == 0) {
    const int nw = blockDim.x / 32;
    v = lane < nw ? part[lane] : part[0];
    for (int off = 16; off > 0; off >>= 1) {
      A o = __shfl_down_sync(0xffffffffu, v, off);
      v = o > v ? o : v;
    }
    if (lane == 0) result = v;
  }
  __syncthreads();
  return result;
}

// Block sums of K doubles; every thread gets the results.
template <int K>
__device__ inline void block_sum_all(double (&v)[K]) {
  __shared__ double result[K];
  cuda_loss::block_sum<K>(v);
  if (threadIdx.x == 0)
    for (int k = 0; k < K; ++k) result[k] = v[k];
  __syncthreads();
  for (int k = 0; k < K; ++k) v[k] = result[k];
  __syncthreads();
}

}  // namespace detforge::kernels::kd_cuda

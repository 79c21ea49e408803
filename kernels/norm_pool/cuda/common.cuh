// Helpers shared by the norm_pool CUDA kernels: block reductions and a float/double dispatch
// for kernels that accumulate with atomicAdd.
#pragma once
#include <cuda_runtime.h>

#include "tensor/cuda/cuda_check.h"
#include "tensor/dtype_cast.h"
#include "tensor/tensor.h"

// Grid-stride loop over [0, n) for one-thread-per-element kernels.
#define DF_NP_LOOP(i, n)                                                        \
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x, \
               _st = static_cast<int64_t>(gridDim.x) * blockDim.x;              \
       i < (n); i += _st)

namespace detforge::kernels::np_cuda {

constexpr int kBlock = 256;

template <class T>
__device__ inline T warp_sum(T v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_down_sync(0xffffffffu, v, o);
  return v;
}

// Sum over the block; every thread gets the result. `shm` holds >= 32 values.
template <class T>
__device__ inline T block_sum(T v, T* shm) {
  int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  v = warp_sum(v);
  __syncthreads();  // shm may still be read from a previous call
  if (lane == 0) shm[warp] = v;
  __syncthreads();
  int nw = (blockDim.x + 31) >> 5;
  T r = threadIdx.x < nw ? shm[threadIdx.x] : T(0);
  if (warp == 0) r = warp_sum(r);
  if (threadIdx.x == 0) shm[0] = r;
  __syncthreads();
  return shm[0];
}

inline void zero_async(const Tensor& t) {
  if (t.numel() > 0)
    DF_CUDA_CHECK(cudaMemsetAsync(t.data_ptr(), 0, t.nbytes(),
                                  detforge::cuda::current_stream(t.device().index)));
}

}  // namespace detforge::kernels::np_cuda

// Kernels that scatter with atomicAdd support float and double only.
#define DF_NP_DISPATCH_ATOMIC(DTYPE, NAME, ...)                                          \
  [&] {                                                                                  \
    switch (DTYPE) {                                                                     \
      DF_DTYPE_CASE(::detforge::DType::f32, float, __VA_ARGS__)                          \
      DF_DTYPE_CASE(::detforge::DType::f64, double, __VA_ARGS__)                         \
      DF_DTYPE_FAIL(DTYPE, NAME,                                                         \
                    "float32 or float64 (the CUDA backward accumulates with atomicAdd)") \
    }                                                                                    \
  }()

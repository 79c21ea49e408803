// Status checks for the CUDA runtime and libraries, adding FILE:LINE to a CudaError.
#pragma once
#include <cuda_runtime.h>

#include "tensor/error.h"

namespace detforge::cuda {

[[noreturn]] void throw_cuda_error(cudaError_t err, const char* expr, const char* file, int line);
// The current stream of the current device (tensor/stream.h), as cudaStream_t.
cudaStream_t current_stream();
cudaStream_t current_stream(int device);
// Launch configuration helpers.
constexpr int kThreads = 256;
inline int blocks_for(int64_t n, int threads = kThreads, int max_blocks = 65535 * 8) {
  int64_t b = (n + threads - 1) / threads;
  return static_cast<int>(b < 1 ? 1 : (b > max_blocks ? max_blocks : b));
}

}  // namespace detforge::cuda

#define DF_CUDA_CHECK(expr)                                                             \
  do {                                                                                  \
    cudaError_t _df_err = (expr);                                                       \
    if (_df_err != cudaSuccess)                                                         \
      ::detforge::cuda::throw_cuda_error(_df_err, #expr, __FILE__, __LINE__);           \
  } while (0)

// After every kernel launch.
#define DF_CUDA_KERNEL_CHECK() DF_CUDA_CHECK(cudaGetLastError())

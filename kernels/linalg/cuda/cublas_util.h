// cuBLAS status checks and the per-device handle (its stream is set on every call).
#pragma once
#include <cublas_v2.h>

#include "tensor/cuda/cuda_check.h"

#if __has_include("tensor/cuda/library_check.h")
#include "tensor/cuda/library_check.h"
#endif

#ifndef DF_CUBLAS_CHECK
// Fallback until tensor/cuda/library_check.h (the cuda-runtime helper) provides it; same name.
#define DF_CUBLAS_CHECK(expr)                                                                     \
  do {                                                                                            \
    cublasStatus_t _df_st = (expr);                                                               \
    if (_df_st != CUBLAS_STATUS_SUCCESS)                                                          \
      throw ::detforge::CudaError(::detforge::str_cat("[cublas] ", #expr, " failed with status ", \
                                                      static_cast<int>(_df_st), " at ", __FILE__, \
                                                      ":", __LINE__));                            \
  } while (0)
#endif

namespace detforge::kernels::cuda_blas {

// The cuBLAS handle of `device` bound to `stream` (handles are created once per device and kept for
// the life of the process).
cublasHandle_t handle(int device, cudaStream_t stream);

}  // namespace detforge::kernels::cuda_blas

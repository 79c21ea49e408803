// cuDNN status checks and the per-device handle (its stream is set on every call).
#pragma once
#include <cudnn.h>

#include "tensor/cuda/cuda_check.h"

#if __has_include("tensor/cuda/library_check.h")
#include "tensor/cuda/library_check.h"
#endif

#ifndef DF_CUDNN_CHECK
// Fallback until tensor/cuda/library_check.h (the cuda-runtime helper) provides it; same name.
#define DF_CUDNN_CHECK(expr)                                                                    \
  do {                                                                                          \
    cudnnStatus_t _df_st = (expr);                                                              \
    if (_df_st != CUDNN_STATUS_SUCCESS)                                                         \
      throw ::detforge::CudaError(::detforge::str_cat("[cudnn] ", #expr,                        \
                                                      " failed: ", cudnnGetErrorString(_df_st), \
                                                      " at ", __FILE__, ":", __LINE__));        \
  } while (0)
#endif

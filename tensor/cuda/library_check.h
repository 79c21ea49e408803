// Status checks for cuBLAS and cuDNN, adding the expression and FILE:LINE to a CudaError.
#pragma once
#include <cublas_v2.h>
#include <cudnn.h>

#include "tensor/error.h"

namespace detforge::cuda {

inline const char* cublas_status_name(cublasStatus_t s) {
  switch (s) {
    case CUBLAS_STATUS_SUCCESS:
      return "CUBLAS_STATUS_SUCCESS";
    case CUBLAS_STATUS_NOT_INITIALIZED:
      return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED:
      return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE:
      return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH:
      return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_MAPPING_ERROR:
      return "CUBLAS_STATUS_MAPPING_ERROR";
    case CUBLAS_STATUS_EXECUTION_FAILED:
      return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_INTERNAL_ERROR:
      return "CUBLAS_STATUS_INTERNAL_ERROR";
    case CUBLAS_STATUS_NOT_SUPPORTED:
      return "CUBLAS_STATUS_NOT_SUPPORTED";
    case CUBLAS_STATUS_LICENSE_ERROR:
      return "CUBLAS_STATUS_LICENSE_ERROR";
    default:
      return "CUBLAS_STATUS_<unknown>";
  }
}

[[noreturn]] inline void throw_cublas_error(cublasStatus_t s, const char* expr, const char* file,
                                            int line) {
  throw CudaError(str_cat("[cublas] ", expr, " failed: ", cublas_status_name(s), " (",
                          static_cast<int>(s), ") at ", file, ":", line));
}

[[noreturn]] inline void throw_cudnn_error(cudnnStatus_t s, const char* expr, const char* file,
                                           int line) {
  throw CudaError(str_cat("[cudnn] ", expr, " failed: ", cudnnGetErrorString(s), " (",
                          static_cast<int>(s), ") at ", file, ":", line));
}

}  // namespace detforge::cuda

#define DF_CUBLAS_CHECK(expr)                                                  \
  do {                                                                         \
    cublasStatus_t _df_st = (expr);                                            \
    if (_df_st != CUBLAS_STATUS_SUCCESS)                                       \
      ::detforge::cuda::throw_cublas_error(_df_st, #expr, __FILE__, __LINE__); \
  } while (0)

#define DF_CUDNN_CHECK(expr)                                                  \
  do {                                                                        \
    cudnnStatus_t _df_st = (expr);                                            \
    if (_df_st != CUDNN_STATUS_SUCCESS)                                       \
      ::detforge::cuda::throw_cudnn_error(_df_st, #expr, __FILE__, __LINE__); \
  } while (0)

// cuBLAS status checks and the per-device handle (its stream is set on every call).
#pragma once
#include <cublas_v2.h>

#include "tensor/cuda/cuda_check.h"
#include "tensor/cuda/library_check.h"

namespace detforge::kernels::cuda_blas {

// The cuBLAS handle of `device` bound to `stream` (handles are created once per device and kept for
// the life of the process).
cublasHandle_t handle(int device, cudaStream_t stream);

}  // namespace detforge::kernels::cuda_blas

// Batched matrix multiply: out[..., M, N] = a[..., M, K] @ b[..., K, N].
// a and b carry the same batch dims (already broadcast: expanded views with stride 0 are fine);
// any strides; out is contiguous. The CPU kernel uses oneDNN's GEMM for float (16-bit floats go
// through float) and a plain blocked reference GEMM for float64; CUDA uses cuBLAS.
#pragma once
#include <cstdint>

#include "kernels/dispatch.h"
#include "tensor/tensor.h"

namespace detforge::kernels {

using MatmulFn = void (*)(const Tensor& out, const Tensor& a, const Tensor& b);
DF_DECLARE_DISPATCH(MatmulFn, matmul_stub);

}  // namespace detforge::kernels

// Inclusive prefix sums along the middle dim of a contiguous [outer, n, inner] tensor;
// reverse = suffix sums (the backward of cumsum).
#pragma once
#include "kernels/dispatch.h"
#include "tensor/tensor.h"

namespace detforge::kernels {

struct CumsumParams {
  int64_t outer = 1, n = 1, inner = 1;
  bool reverse = false;
};
using CumsumFn = void (*)(const Tensor& out, const Tensor& in, const CumsumParams& p);
DF_DECLARE_DISPATCH(CumsumFn, cumsum_stub);

// Flat positions (int64, ascending) of the true elements of a contiguous bool tensor. On CUDA
// the output size needs one device->host sync (named in cuda/nonzero.cu).
using FlatNonzeroFn = Tensor (*)(const Tensor& mask);
DF_DECLARE_DISPATCH(FlatNonzeroFn, flat_nonzero_stub);

}  // namespace detforge::kernels

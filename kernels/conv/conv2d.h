// 2-D convolution, NCHW input, OIHW weight (O = out channels, I = in channels / groups), in three
// kernels: forward, backward data (grad input) and backward weights (grad weight and grad bias).
// All tensors handed to these kernels are contiguous; outputs are written in full.
// CPU: oneDNN with layouts chosen by the library (format_tag::any), primitives cached per shape;
// float64 through a reference im2col + GEMM path. CUDA: cuDNN's legacy convolution API with the
// algorithm found once per shape and cached.
#pragma once
#include <cstdint>
#include <string>

#include "kernels/dispatch.h"
#include "tensor/tensor.h"

namespace detforge::kernels {

struct Conv2dParams {
  int64_t stride[2] = {1, 1};
  int64_t padding[2] = {0, 0};
  int64_t dilation[2] = {1, 1};
  int64_t groups = 1;
};

// Output spatial size along one axis (PyTorch's formula); may be <= 0 for invalid configs.
inline int64_t conv_out_size(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d) {
  return (in + 2 * p - d * (k - 1) - 1) / s + 1;
}

// out [N,O,OH,OW] <- conv(input [N,C,H,W], weight [O,C/g,KH,KW]) (+ bias [O] when defined)
using Conv2dFwdFn = void (*)(const Tensor& out, const Tensor& input, const Tensor& weight,
                             const Tensor& bias, const Conv2dParams& p);
// grad_input [N,C,H,W] <- grad_output, weight
using Conv2dBwdDataFn = void (*)(const Tensor& grad_input, const Tensor& grad_output,
                                 const Tensor& weight, const Conv2dParams& p);
// grad_weight [O,C/g,KH,KW] and grad_bias [O] (when defined) <- grad_output, input
using Conv2dBwdWeightFn = void (*)(const Tensor& grad_weight, const Tensor& grad_bias,
                                   const Tensor& grad_output, const Tensor& input,
                                   const Conv2dParams& p);

DF_DECLARE_DISPATCH(Conv2dFwdFn, conv2d_fwd_stub);
DF_DECLARE_DISPATCH(Conv2dBwdDataFn, conv2d_bwd_data_stub);
DF_DECLARE_DISPATCH(Conv2dBwdWeightFn, conv2d_bwd_weight_stub);

enum class ConvDirection { forward, backward_data, backward_weight };

// oneDNN's implementation name (impl_info_str, e.g. "jit:avx512_core") for an f32 problem of these
// shapes on the CPU; builds (and caches) the primitive without running it. For tests that make sure
// hot shapes never fall to a "ref:" implementation.
DETFORGE_API std::string conv2d_cpu_impl_info(ConvDirection dir, const Shape& input,
                                              const Shape& weight, bool bias,
                                              const Conv2dParams& p);
// Primitive cache counters (hits, misses) of the CPU path since start.
DETFORGE_API void conv2d_cpu_cache_stats(int64_t& hits, int64_t& misses);

}  // namespace detforge::kernels

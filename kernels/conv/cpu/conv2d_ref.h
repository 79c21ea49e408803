// Reference CPU convolution (im2col + the reference GEMM) for float64, the dtype oneDNN lacks.
// Used by gradchecks; float32 goes through oneDNN (conv2d_dnnl.cpp).
#pragma once
#include "kernels/conv/conv2d.h"

namespace detforge::kernels::cpu {

void conv2d_fwd_ref(const Tensor& out, const Tensor& input, const Tensor& weight,
                    const Tensor& bias, const Conv2dParams& p);
void conv2d_bwd_data_ref(const Tensor& grad_input, const Tensor& grad_output, const Tensor& weight,
                         const Conv2dParams& p);
void conv2d_bwd_weight_ref(const Tensor& grad_weight, const Tensor& grad_bias,
                           const Tensor& grad_output, const Tensor& input, const Conv2dParams& p);

}  // namespace detforge::kernels::cpu

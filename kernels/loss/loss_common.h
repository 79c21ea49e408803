// Shared pieces of the loss kernels: the reduction mode and the accumulation dtype.
#pragma once
#include "tensor/dtype.h"

namespace detforge::kernels {

// PyTorch's loss reductions. kl_div's "batchmean" is a sum divided by the batch size in the
// autograd layer (as torch.nn.functional does).
enum class LossReduction { none, mean, sum };

// Dtype of device-side scalars such as the mean normaliser: f64 for f64 inputs, else f32.
inline DType loss_acc_dtype(DType t) {
  return t == DType::f64 ? DType::f64 : DType::f32;
}

}  // namespace detforge::kernels

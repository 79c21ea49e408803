// sigmoid_focal_loss with torchvision.ops.sigmoid_focal_loss's arguments and semantics
// (torchvision 0.14): inputs are logits, targets of the same shape (binary or soft labels in
// [0, 1]); alpha < 0 disables the alpha weighting; reduction "none" (default) | "mean" | "sum".
// One fused forward kernel and one fused backward kernel (kernels/loss/sigmoid_focal_loss.h);
// gradients flow to inputs and targets; the backward is not itself differentiable.
#pragma once
#include <string>

#include "tensor/tensor.h"

namespace detforge {

DETFORGE_API Tensor sigmoid_focal_loss(const Tensor& inputs, const Tensor& targets,
                                       double alpha = 0.25, double gamma = 2.0,
                                       const std::string& reduction = "none");

}  // namespace detforge

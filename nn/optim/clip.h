// Gradient clipping over the .grad() of a list of parameters (PyTorch 1.13 semantics), one fused
// multi-tensor pass (kernels/optim/clip.h); parameters without a gradient are skipped.
#pragma once
#include <limits>
#include <vector>

#include "tensor/tensor.h"

namespace detforge::nn {

constexpr double kInfNorm = std::numeric_limits<double>::infinity();

// Total norm of all gradients (norm_type 2 or kInfNorm), as a 0-dim float32 tensor on their device
// (no host sync); gradients are scaled by min(1, max_norm / (total + 1e-6)).
DETFORGE_API Tensor clip_grad_norm_(const std::vector<Tensor>& params, double max_norm,
                                    double norm_type = 2.0);
// Clamps every gradient to [-clip_value, clip_value].
DETFORGE_API void clip_grad_value_(const std::vector<Tensor>& params, double clip_value);

}  // namespace detforge::nn

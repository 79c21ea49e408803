// Multi-tensor gradient clipping kernels (PyTorch 1.13 clip_grad_norm_ / clip_grad_value_).
#pragma once
#include <vector>

#include "kernels/dispatch.h"
#include "kernels/optim/multi_tensor.h"
#include "tensor/tensor.h"

namespace detforge::kernels {

struct ClipHyper {
  float value = 0.f;  // clip_value for clamping
};
using ClipEntry = MultiTensorEntry<ClipHyper>;  // `param` is the gradient to modify; grad unused

// Total norm over all entries (norm_type 2, or inf when `inf_norm`), written to `total` (0-dim f32
// on the entries' device); then every gradient is scaled by min(1, max_norm / (total + 1e-6)). The
// coefficient is computed on the device: no host sync.
using ClipNormFn = void (*)(Device device, const std::vector<ClipEntry>& entries, bool inf_norm,
                            double max_norm, const Tensor& total);
DF_DECLARE_DISPATCH(ClipNormFn, clip_grad_norm_stub);
// Clamps every gradient to [-h.value, h.value].
using ClipValueFn = void (*)(Device device, const std::vector<ClipEntry>& entries);
DF_DECLARE_DISPATCH(ClipValueFn, clip_grad_value_stub);

}  // namespace detforge::kernels

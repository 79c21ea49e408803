// Differentiable normalisation, pooling, resampling and padding ops (PyTorch 1.13 semantics and
// functional names). Undefined tensors stand for None.
#pragma once
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tensor/tensor.h"

namespace detforge {

// input [N, C, *]. training: batch statistics (biased variance); running_mean / running_var, when
// given, are updated in place with `momentum` and the unbiased variance. Eval: uses the running
// stats.
DETFORGE_API Tensor batch_norm(const Tensor& input, const Tensor& running_mean,
                               const Tensor& running_var, const Tensor& weight, const Tensor& bias,
                               bool training, double momentum = 0.1, double eps = 1e-5);
// input [N, C, *], C divisible by num_groups; weight / bias [C].
DETFORGE_API Tensor group_norm(const Tensor& input, int64_t num_groups,
                               const Tensor& weight = Tensor(), const Tensor& bias = Tensor(),
                               double eps = 1e-5);
// Normalises over the trailing dims `normalized_shape`; weight / bias of that shape.
DETFORGE_API Tensor layer_norm(const Tensor& input, const Shape& normalized_shape,
                               const Tensor& weight = Tensor(), const Tensor& bias = Tensor(),
                               double eps = 1e-5);

// Pools on [C, H, W] or [N, C, H, W]. kernel/stride/padding/dilation: one value or (h, w); an empty
// stride means stride = kernel_size. Indices: flat h * W + w within each plane, int64.
DETFORGE_API std::pair<Tensor, Tensor> max_pool2d_with_indices(
    const Tensor& input, const Shape& kernel_size, const Shape& stride = {},
    const Shape& padding = {0}, const Shape& dilation = {1}, bool ceil_mode = false);
DETFORGE_API Tensor max_pool2d(const Tensor& input, const Shape& kernel_size,
                               const Shape& stride = {}, const Shape& padding = {0},
                               const Shape& dilation = {1}, bool ceil_mode = false);
DETFORGE_API Tensor avg_pool2d(const Tensor& input, const Shape& kernel_size,
                               const Shape& stride = {}, const Shape& padding = {0},
                               bool ceil_mode = false, bool count_include_pad = true,
                               std::optional<int64_t> divisor_override = std::nullopt);
DETFORGE_API Tensor adaptive_avg_pool2d(const Tensor& input, const Shape& output_size);

// [N, C, H, W]. Exactly one of output_size (h, w) and scale_factors (one value or (h, w)).
DETFORGE_API Tensor upsample_nearest2d(const Tensor& input, const Shape& output_size,
                                       const std::vector<double>& scale_factors = {});
DETFORGE_API Tensor upsample_bilinear2d(const Tensor& input, const Shape& output_size,
                                        bool align_corners,
                                        const std::vector<double>& scale_factors = {});

// F.pad: `pad` lists (before, after) pairs starting from the last dim; up to 3 padded dims.
// mode: "constant" (negative pads crop), "reflect", "replicate".
DETFORGE_API Tensor pad(const Tensor& input, const Shape& pad, const std::string& mode = "constant",
                        double value = 0.0);

}  // namespace detforge

// Differentiable losses with PyTorch 1.13's torch.nn.functional names, arguments and semantics.
// Each runs one fused forward kernel and one fused backward kernel (kernels/loss/). Their
// backward passes are not themselves differentiable (no double backward through a loss).
// reduction: "none" | "mean" | "sum" (kl_div also "batchmean").
#pragma once
#include <string>

#include "tensor/tensor.h"

namespace detforge {

// input [N, C, d1, ...] or [C] logits; target class indices [N, d1, ...] (int64; int32 is
// converted) or class probabilities of the input's shape. weight: optional [C].
DETFORGE_API Tensor cross_entropy(const Tensor& input, const Tensor& target,
                                  const Tensor& weight = Tensor(), int64_t ignore_index = -100,
                                  const std::string& reduction = "mean",
                                  double label_smoothing = 0.0);
// weight broadcasts to input's shape; pos_weight broadcasts along the last dims (usually [C]).
DETFORGE_API Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target,
                                                     const Tensor& weight = Tensor(),
                                                     const std::string& reduction = "mean",
                                                     const Tensor& pos_weight = Tensor());
DETFORGE_API Tensor smooth_l1_loss(const Tensor& input, const Tensor& target,
                                   const std::string& reduction = "mean", double beta = 1.0);
DETFORGE_API Tensor l1_loss(const Tensor& input, const Tensor& target,
                            const std::string& reduction = "mean");
DETFORGE_API Tensor mse_loss(const Tensor& input, const Tensor& target,
                             const std::string& reduction = "mean");
// input: log-probabilities; target: probabilities (or log-probabilities with log_target).
DETFORGE_API Tensor kl_div(const Tensor& input, const Tensor& target,
                           const std::string& reduction = "mean", bool log_target = false);

}  // namespace detforge

// centernet_heatmap_focal_loss: CenterNet's penalty-reduced pixel-wise focal loss (Zhou et al.
// 2019, the official code's _neg_loss applied to _sigmoid's output clamped to [1e-4, 1 - 1e-4];
// alpha 2, beta 4). logits: pre-sigmoid heatmap [B, C, H, W] (any shape); target: the Gaussian
// heatmap of the same shape (1 at object centres). Returns a 0-dim loss:
// -(sum of positive and negative terms) / max(#{target == 1}, 1). One fused kernel each way
// (kernels/loss/centernet_focal_loss.h); the gradient flows to the logits only (the target is
// data); the backward is not itself differentiable.
#pragma once
#include "tensor/tensor.h"

namespace detforge {

DETFORGE_API Tensor centernet_heatmap_focal_loss(const Tensor& logits, const Tensor& target);

}  // namespace detforge

// DONNA's blockwise knowledge distillation (Moons et al., "Distilling Optimal Neural Networks",
// section 3.2.1): a replacement block B'_n is trained alone to reproduce the reference block's
// output Y_n = B_n(X_n) from the reference block's input X_n, with the per-channel
// noise-to-signal ratio
//   NSR = (1/C) sum_c mean_{N,H,W}((Y - B'(X))^2) / var_{N,H,W}(Y)      (biased, + eps)
// computed by the fused kd_bkd_nsr (autograd/kd_losses.h); the reference output is the fixed,
// detached target (no gradient reaches the reference block). The NSR of a trained block is the
// block-quality feature of DONNA's accuracy predictor.
#pragma once
#include "nn/module.h"
#include "nn/optim/optimizer.h"
#include "tensor/tensor.h"

namespace detforge::kd {

struct BlockwiseKdOptions {
  double eps = 1e-8;                  // added to each channel's target variance
  bool reference_train_mode = false;  // run the reference in train mode (BN batch statistics)
};

// Y = reference(input) under no-grad, in eval mode unless opts.reference_train_mode (the
// reference's own mode is restored afterwards); detached.
DETFORGE_API Tensor bkd_target(nn::Module& reference, const Tensor& input,
                               const BlockwiseKdOptions& opts = {});

// NSR of replacement(input) against a target computed with bkd_target. ShapeError naming both
// blocks' output shapes when they differ.
DETFORGE_API Tensor blockwise_kd_loss(nn::Module& reference, nn::Module& replacement,
                                      const Tensor& input, const BlockwiseKdOptions& opts = {});

// One training step of the replacement block: zero_grad, loss, backward, optimizer step.
// Returns the step's loss (before the update).
DETFORGE_API double blockwise_kd_step(nn::Module& reference, nn::Module& replacement,
                                      nn::Optimizer& optimizer, const Tensor& input,
                                      const BlockwiseKdOptions& opts = {});

}  // namespace detforge::kd

// BN recalibration for subnets of an elastic supernet: every ElasticBatchNorm2d in `model` has its
// running statistics reset and recomputed from K batches in one pass: each batch's per-channel
// mean and sum of squared deviations are merged exactly (Chan et al.'s parallel Welford update, in
// double), so the result is the mean and unbiased variance of all K batches concatenated (not a
// momentum average). The forward runs in training mode without gradients; the module's mode is
// restored afterwards. Plain BatchNorm2d layers are left untouched.
#pragma once
#include <functional>
#include <vector>

#include "nn/module.h"

namespace detforge::nn {

// run() forwards the K batches through the model (any signature).
DETFORGE_API void recalibrate_bn(Module& model, const std::function<void()>& run);
// Forwards each batch through model.forward.
DETFORGE_API void recalibrate_bn(Module& model, const std::vector<Tensor>& batches);

}  // namespace detforge::nn

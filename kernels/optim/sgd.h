// Fused SGD step (PyTorch 1.13 torch.optim.SGD semantics), plus the network-slimming BN-sparsity
// subgradient lambda * sign(gamma) added to the gradient of flagged tensors.
#pragma once
#include <vector>

#include "kernels/dispatch.h"
#include "kernels/optim/multi_tensor.h"

namespace detforge::kernels {

struct SgdHyper {
  float lr = 0.f;
  float weight_decay = 0.f;  // L2: added to the gradient
  float momentum = 0.f;
  float one_minus_dampening = 1.f;  // (1 - dampening), rounded once from double as PyTorch does
  float bn_lambda = 0.f;            // 0 = off
  uint8_t nesterov = 0;
  uint8_t maximize = 0;
  uint8_t first = 0;  // first step with momentum: the buffer is initialised to the gradient
};

// One element: p (param), g (grad), buf (momentum buffer; unused when momentum == 0).
DETFORGE_HD inline void sgd_update(float& p, float g, float& buf, const SgdHyper& h) {
  float d = h.maximize ? -g : g;
  if (h.bn_lambda != 0.f) d += h.bn_lambda * sign0(p);
  if (h.weight_decay != 0.f) d += h.weight_decay * p;
  if (h.momentum != 0.f) {
    float b = h.first ? d : buf * h.momentum + h.one_minus_dampening * d;
    buf = b;
    d = h.nesterov ? d + h.momentum * b : b;
  }
  p = p - h.lr * d;
}

using SgdEntry = MultiTensorEntry<SgdHyper>;  // state0 = momentum buffer (null when momentum == 0)
// All entries must live on `device`.
using SgdStepFn = void (*)(Device device, const std::vector<SgdEntry>& entries);
DF_DECLARE_DISPATCH(SgdStepFn, sgd_step_stub);

}  // namespace detforge::kernels

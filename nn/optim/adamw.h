// AdamW (PyTorch 1.13 torch.optim.AdamW: decoupled weight decay, bias correction, optional
// amsgrad), one fused multi-tensor kernel per step (kernels/optim/adamw.h), BN-sparsity subgradient
// included.
#pragma once
#include "nn/optim/optimizer.h"

namespace detforge::nn {

class DETFORGE_API AdamW : public Optimizer {
 public:
  explicit AdamW(std::vector<ParamGroup> groups);
  void step() override;
  const char* kind() const override { return "AdamW"; }
};

}  // namespace detforge::nn

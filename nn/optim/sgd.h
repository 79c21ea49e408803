// SGD with momentum, dampening, nesterov and L2 weight decay (PyTorch 1.13 torch.optim.SGD), one
// fused multi-tensor kernel per step (kernels/optim/sgd.h), BN-sparsity subgradient included.
#pragma once
#include "nn/optim/optimizer.h"

namespace detforge::nn {

class DETFORGE_API SGD : public Optimizer {
 public:
  explicit SGD(std::vector<ParamGroup> groups);
  void step() override;
  const char* kind() const override { return "SGD"; }
};

}  // namespace detforge::nn

// Parameter-free activations (torch.nn names) and Identity.
#pragma once
#include "nn/module.h"

namespace detforge::nn {

// hardsigmoid(x) = relu6(x + 3) / 6 (torch.nn.functional.hardsigmoid).
DETFORGE_API Tensor hardsigmoid(const Tensor& x);

#define DETFORGE_NN_ACTIVATION(Name)                         \
  class DETFORGE_API Name : public Cloneable<Name> {         \
   public:                                                   \
    std::string type_name() const override { return #Name; } \
    Tensor forward(const Tensor& input) override;            \
  };
DETFORGE_NN_ACTIVATION(ReLU)
DETFORGE_NN_ACTIVATION(ReLU6)
DETFORGE_NN_ACTIVATION(SiLU)
DETFORGE_NN_ACTIVATION(Hardswish)
DETFORGE_NN_ACTIVATION(Hardsigmoid)
DETFORGE_NN_ACTIVATION(Sigmoid)
DETFORGE_NN_ACTIVATION(Identity)
#undef DETFORGE_NN_ACTIVATION

}  // namespace detforge::nn

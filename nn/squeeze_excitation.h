// torchvision.ops.SqueezeExcitation: scale = gate(fc2(relu(fc1(avgpool(x))))), out = x * scale,
// with 1x1 convolutions "fc1" (C -> squeeze) and "fc2" (squeeze -> C), both with bias; the gate is
// sigmoid (torchvision's default) or hardsigmoid (MobileNetV3).
#pragma once
#include "nn/module.h"

namespace detforge::nn {

class DETFORGE_API SqueezeExcitation : public Cloneable<SqueezeExcitation> {
 public:
  SqueezeExcitation(int64_t input_channels, int64_t squeeze_channels, bool hard_sigmoid = false);
  std::string type_name() const override { return "SqueezeExcitation"; }
  Tensor forward(const Tensor& input) override;

 private:
  bool hard_;
};

}  // namespace detforge::nn

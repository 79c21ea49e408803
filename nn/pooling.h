// MaxPool2d and AdaptiveAvgPool2d (torch.nn semantics; no parameters).
#pragma once
#include "nn/module.h"

namespace detforge::nn {

class DETFORGE_API MaxPool2d : public Cloneable<MaxPool2d> {
 public:
  // An empty stride means stride = kernel_size.
  explicit MaxPool2d(Shape kernel_size, Shape stride = {}, Shape padding = {0},
                     Shape dilation = {1}, bool ceil_mode = false)
      : k_(std::move(kernel_size)),
        s_(std::move(stride)),
        p_(std::move(padding)),
        d_(std::move(dilation)),
        ceil_(ceil_mode) {}
  std::string type_name() const override { return "MaxPool2d"; }
  Tensor forward(const Tensor& input) override;

 private:
  Shape k_, s_, p_, d_;
  bool ceil_;
};

class DETFORGE_API AdaptiveAvgPool2d : public Cloneable<AdaptiveAvgPool2d> {
 public:
  explicit AdaptiveAvgPool2d(Shape output_size) : out_(std::move(output_size)) {}
  std::string type_name() const override { return "AdaptiveAvgPool2d"; }
  Tensor forward(const Tensor& input) override;

 private:
  Shape out_;
};

}  // namespace detforge::nn

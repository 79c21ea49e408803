// ConvTranspose2d (torch.nn.ConvTranspose2d: "weight" [in, out / groups, kh, kw], optional "bias"
// [out]), PyTorch's default init (kaiming_uniform(a = sqrt 5) with fan_in from weight.size(1)).
#pragma once
#include "nn/module.h"

namespace detforge::nn {

class DETFORGE_API ConvTranspose2d : public Cloneable<ConvTranspose2d> {
 public:
  ConvTranspose2d(int64_t in_channels, int64_t out_channels, int64_t kernel_size,
                  int64_t stride = 1, int64_t padding = 0, int64_t output_padding = 0,
                  int64_t groups = 1, bool bias = true, int64_t dilation = 1);
  std::string type_name() const override { return "ConvTranspose2d"; }
  Tensor forward(const Tensor& input) override;

 private:
  int64_t stride_, padding_, output_padding_, groups_, dilation_;
  bool bias_;
};

}  // namespace detforge::nn

// Conv2d (torch.nn.Conv2d: parameters "weight" [out, in/groups, kh, kw] and optional "bias") and
// the weight-standardized Conv2d of SM-NAS's GN+WS backbones.
#pragma once
#include "nn/module.h"

namespace detforge::nn {

struct Conv2dOptions {
  int64_t in_channels = 0, out_channels = 0;
  Shape kernel_size{3};  // one value or (kh, kw)
  Shape stride{1}, padding{0}, dilation{1};
  int64_t groups = 1;
  bool bias = true;
};

class DETFORGE_API Conv2d : public Cloneable<Conv2d> {
 public:
  explicit Conv2d(const Conv2dOptions& options);
  Conv2d(int64_t in_channels, int64_t out_channels, int64_t kernel_size, int64_t stride = 1,
         int64_t padding = 0, int64_t dilation = 1, int64_t groups = 1, bool bias = true);
  std::string type_name() const override { return "Conv2d"; }
  Tensor forward(const Tensor& input) override;
  const Conv2dOptions& options() const { return opt_; }
  // The weight the convolution uses (the raw weight here; standardized in WSConv2d).
  virtual Tensor effective_weight() const { return param("weight"); }

 protected:
  Conv2dOptions opt_;
};

// mmcv's ConvWS2d (used by SM-NAS): each output channel's weight is standardized before the
// convolution, w_hat = (w - mean) / (std + eps) with mean and the unbiased std over (in, kh, kw),
// eps = 1e-5. Built from differentiable ops, so gradients flow to the raw weight.
class DETFORGE_API WSConv2d : public Cloneable<WSConv2d, Conv2d> {
 public:
  explicit WSConv2d(const Conv2dOptions& options, double eps = 1e-5);
  std::string type_name() const override { return "WSConv2d"; }
  Tensor effective_weight() const override;
  double eps() const { return eps_; }

 private:
  double eps_;
};

DETFORGE_API Tensor standardize_weight(const Tensor& weight, double eps = 1e-5);

}  // namespace detforge::nn

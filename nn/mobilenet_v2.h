// torchvision's MobileNetV2 with its exact parameter names: features.0 is Conv2dNormActivation
// ("features.0.0.weight" conv, "features.0.1.*" BN, ReLU6), features.1..17 are InvertedResidual
// blocks ("features.N.conv.M..."), features.18 the last 1x1 Conv2dNormActivation, and the
// classifier Sequential(Dropout, Linear) ("classifier.1.weight").
// forward_features returns C2..C5: the outputs of the last feature module at strides 4, 8, 16 and
// 32 (for width 1.0: features.3 (24 ch), features.6 (32), features.13 (96), features.18 (1280)).
#pragma once
#include <vector>

#include "nn/module.h"
#include "nn/sequential.h"

namespace detforge::nn {

// torchvision's _make_divisible.
DETFORGE_API int64_t make_divisible(double v, int64_t divisor, int64_t min_value = 0);

// torchvision.ops.Conv2dNormActivation with BatchNorm2d and ReLU6 (or no activation):
// children "0" conv (no bias, padding (k-1)/2), "1" BatchNorm2d, "2" activation.
DETFORGE_API std::shared_ptr<Sequential> conv_bn_act(int64_t in, int64_t out, int64_t kernel,
                                                     int64_t stride = 1, int64_t groups = 1,
                                                     bool relu6 = true);

// torchvision InvertedResidual: child "conv" = Sequential([pw expand], dw, pw-linear conv, BN).
class DETFORGE_API InvertedResidual : public Cloneable<InvertedResidual> {
 public:
  InvertedResidual(int64_t inp, int64_t oup, int64_t stride, int64_t expand_ratio);
  std::string type_name() const override { return "InvertedResidual"; }
  Tensor forward(const Tensor& input) override;
  bool use_res_connect() const { return res_; }

 private:
  bool res_;
};

class DETFORGE_API MobileNetV2 : public Cloneable<MobileNetV2> {
 public:
  explicit MobileNetV2(int64_t num_classes = 1000, double width_mult = 1.0, double dropout = 0.2,
                       int64_t round_nearest = 8);
  std::string type_name() const override { return "MobileNetV2"; }
  Tensor forward(const Tensor& input) override;
  std::vector<Tensor> forward_features(const Tensor& input);  // C2, C3, C4, C5
  const std::vector<int64_t>& feature_indices() const { return taps_; }
  const std::vector<int64_t>& feature_channels() const { return tap_channels_; }

 private:
  std::vector<int64_t> taps_, tap_channels_;
};

DETFORGE_API std::shared_ptr<MobileNetV2> mobilenet_v2(int64_t num_classes = 1000);

}  // namespace detforge::nn

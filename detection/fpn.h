// torchvision.ops.FeaturePyramidNetwork (0.14) with its parameter names: for each input level i a
// lateral 1x1 "inner_blocks.i" and an output 3x3 "layer_blocks.i", both Conv2dNormActivation
// layouts ("inner_blocks.i.0.weight", "inner_blocks.i.0.bias" without a norm; with a norm the conv
// has no bias and the norm is "inner_blocks.i.1.*"). Top-down: the coarser merged map is upsampled
// with nearest interpolation to the lateral's size (F.interpolate(size=..., mode="nearest")) and
// added. Extra blocks:
// - max_pool (LastLevelMaxPool): "pool" = max_pool2d(last output, kernel 1, stride 2), no params.
// - p6p7 (LastLevelP6P7, RetinaNet): "extra_blocks.p6" conv 3x3 s2 on P5 when its in_channels equal
//   out_channels, else on C5 (the last input), and "extra_blocks.p7" conv 3x3 s2 on relu(P6).
// Inputs and outputs are ordered named maps (FeatureList); output names are the input names plus
// "pool" or "p6", "p7". Init as torchvision: kaiming_uniform(a = 1) weights, zero biases.
#pragma once
#include <optional>

#include "detection/layers.h"

namespace detforge::detection {

enum class FpnExtra { none, max_pool, p6p7 };
DETFORGE_API FpnExtra parse_fpn_extra(const std::string& s);  // "none" | "maxpool" | "p6p7"

struct FpnOptions {
  std::vector<int64_t> in_channels;  // per input level, highest resolution first
  int64_t out_channels = 256;
  FpnExtra extra = FpnExtra::none;
  // Input channels of P6 for p6p7: 0 means out_channels (P6 from P5); else the last input's
  // channels (P6 from C5), as torchvision's LastLevelP6P7(in_channels, out_channels).
  int64_t p6p7_in_channels = 0;
  // Overrides that rule when set (ElasticFPN's extract: C5 may have the FPN's width and still be
  // the source).
  std::optional<bool> p6_use_p5;
  NormFactory norm;  // empty: no norm, convs with bias
};

// LastLevelP6P7's parameters ("p6", "p7" Conv2d 3x3 stride 2 padding 1).
class DETFORGE_API LastLevelP6P7 : public nn::Cloneable<LastLevelP6P7> {
 public:
  // use_p5 unset: torchvision's rule, in_channels == out_channels.
  LastLevelP6P7(int64_t in_channels, int64_t out_channels, std::optional<bool> use_p5 = {});
  std::string type_name() const override { return "LastLevelP6P7"; }
  bool use_p5() const { return use_p5_; }
  // Appends P6 and P7 computed from p5 or c5.
  void extend(std::vector<Tensor>& results, const Tensor& p5, const Tensor& c5);

 private:
  bool use_p5_;
};

class DETFORGE_API FeaturePyramidNetwork : public nn::Cloneable<FeaturePyramidNetwork> {
 public:
  explicit FeaturePyramidNetwork(const FpnOptions& options);
  std::string type_name() const override { return "FeaturePyramidNetwork"; }
  FeatureList forward(const FeatureList& features);
  const FpnOptions& options() const { return opt_; }
  int64_t num_levels() const { return static_cast<int64_t>(opt_.in_channels.size()); }

 private:
  FpnOptions opt_;
};

}  // namespace detforge::detection

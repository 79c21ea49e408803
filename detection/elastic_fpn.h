// ElasticFPN: a FeaturePyramidNetwork whose output width is searchable (Joint-DetNAS searches the
// FPN width together with the backbone). It keeps the static FPN's names and layout
// ("inner_blocks.i.0.weight", "layer_blocks.i.0.bias", norms at ".1", "extra_blocks.p6/p7"), with
// ElasticConv2d / ElasticBatchNorm2d / ElasticGroupNorm at the maximal width
// round(out_channels * max(width_multipliers)), so a static FPN's state dict at that width loads
// directly. set_active_width(m) makes every conv output (and norm) use the first
// round(out_channels * m) channels, a zero-copy prefix; input channels follow the actual inputs, so
// an elastic backbone's narrower C2..C5 work unchanged. extract() gives the static
// FeaturePyramidNetwork with copied weights and identical outputs.
#pragma once
#include "detection/fpn.h"

namespace detforge::detection {

struct ElasticFpnOptions {
  std::vector<int64_t> in_channels;  // maximal channels per input level
  int64_t out_channels = 256;        // base width (multiplier 1.0)
  std::vector<double> width_multipliers{1.0, 1.25, 1.5};
  FpnExtra extra = FpnExtra::none;
  bool p6_from_c5 = false;    // p6p7: P6 from C5 (RetinaNet v2) instead of P5
  std::string norm = "none";  // "none" | "bn" | "gn"
  int64_t gn_groups = 32;
};

class DETFORGE_API ElasticFPN : public nn::Cloneable<ElasticFPN> {
 public:
  explicit ElasticFPN(const ElasticFpnOptions& options);
  std::string type_name() const override { return "ElasticFPN"; }
  FeatureList forward(const FeatureList& features);

  // round(out_channels * m); ConfigError unless m is one of width_multipliers.
  int64_t width_for(double multiplier) const;
  void set_active_width(double multiplier);
  // Any prefix 1..max_out_channels() (GroupNorm: a multiple of gn_groups).
  void set_active_out_channels(int64_t channels);
  int64_t active_out_channels() const { return active_out_; }
  int64_t max_out_channels() const { return max_out_; }
  const ElasticFpnOptions& options() const { return opt_; }
  // The static FPN of the active width for inputs with `in_channels` (one per level).
  std::shared_ptr<FeaturePyramidNetwork> extract(const std::vector<int64_t>& in_channels) const;

 private:
  ElasticFpnOptions opt_;
  int64_t max_out_ = 0, active_out_ = 0;
};

}  // namespace detforge::detection

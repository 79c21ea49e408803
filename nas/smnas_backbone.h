// Static SM-NAS backbone built from a parsed backbone code (nas/arch_config.h documents the rule).
// nn::ResNet fixes torchvision's stem and per-stage widths, so this composes its blocks instead:
// children "stem" (Sequential: conv3x3 s2, norm, ReLU, conv3x3 s2, norm, ReLU) and
// "layer1".."layer4" (Sequential of nn::ResNetBlock with torchvision parameter names; xbottleneck
// blocks are ResNeXt bottlenecks with a grouped conv2, see SmNasBackboneOptions).
// forward_features returns C2..C5 (strides 4, 8, 16, 32); forward returns C5.
#pragma once
#include <memory>
#include <vector>

#include "nas/smnas_code.h"
#include "nn/module.h"
#include "nn/resnet.h"

namespace detforge::nas {

struct SmNasBackboneOptions {
  int64_t in_channels = 3;
  bool weight_standardization = false;  // SM-NAS trains from scratch with GN + WS
  nn::NormFactory norm_layer;           // empty: BatchNorm2d
  // xbottleneck (ResNeXt) cardinality and width per group: 32x4d (the paper's ResNeXt101 32x4d),
  // so a block's grouped 3x3 conv has floor(planes * 4 / 64) * 32 channels in 32 groups.
  int64_t xbottleneck_groups = 32, xbottleneck_width_per_group = 4;
};

class DETFORGE_API SmNasBackbone : public nn::Cloneable<SmNasBackbone> {
 public:
  // cfg: basic/bottleneck/xbottleneck, base_channels > 0, 4 stages each with one doubling flag per
  // block.
  explicit SmNasBackbone(const ArchConfig& cfg, const SmNasBackboneOptions& options = {});
  std::string type_name() const override { return "SmNasBackbone"; }
  Tensor forward(const Tensor& input) override;  // C5
  std::vector<Tensor> forward_features(const Tensor& input);
  // C2..C5 channels, read from the layers (current after pruning / morphism).
  std::vector<int64_t> feature_channels() const { return nn::resnet_stage_channels(*this); }
  std::vector<int64_t> feature_strides() const { return {4, 8, 16, 32}; }
};

DETFORGE_API std::shared_ptr<SmNasBackbone> smnas_backbone(
    const std::string& code, const SmNasBackboneOptions& options = {});

}  // namespace detforge::nas

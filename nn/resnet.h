// torchvision's ResNet / ResNeXt with its exact parameter names ("conv1.weight",
// "bn1.running_mean", "layer1.0.conv1.weight", "layer2.0.downsample.0.weight", "fc.weight", ...),
// so a torchvision state dict saved as safetensors loads with load_state_dict(strict). V1.5: the
// stride sits on the bottleneck's 3x3 conv. forward_features returns C2..C5 (outputs of
// layer1..layer4, strides 4, 8, 16, 32); forward returns logits (avgpool -> flatten -> fc).
#pragma once
#include <functional>
#include <vector>

#include "nn/module.h"

namespace detforge::nn {

// Makes the normalisation layer for a channel count (default BatchNorm2d(c)).
using NormFactory = std::function<std::shared_ptr<Module>(int64_t channels)>;

struct ResNetConfig {
  bool bottleneck = false;  // BasicBlock (expansion 1) or Bottleneck (expansion 4)
  std::vector<int64_t> layers{2, 2, 2, 2};
  int64_t num_classes = 1000;
  int64_t groups = 1, width_per_group = 64;  // ResNeXt: 32 x 4d -> groups 32, width_per_group 4
  int64_t in_channels = 3;
  bool zero_init_residual = false;  // last BN gamma of each block = 0
  bool weight_standardization =
      false;               // WSConv2d everywhere (SM-NAS GN+WS with a GroupNorm factory)
  NormFactory norm_layer;  // empty: BatchNorm2d
};

// One residual block's channels, for models whose widths are not torchvision's (extracted subnets,
// pruned and morphed students). Basic: conv1 in -> mid (3x3, stride), conv2 mid -> out (3x3).
// Bottleneck: conv1 in -> mid (1x1), conv2 mid -> mid (3x3, stride, groups), conv3 mid -> out
// (1x1). A downsample branch (1x1 conv stride + norm) exists when stride != 1 or in != out.
struct BlockSpec {
  bool bottleneck = false;
  int64_t in_channels = 64, mid_channels = 64, out_channels = 64;
  int64_t stride = 1, groups = 1;
  bool has_downsample() const { return stride != 1 || in_channels != out_channels; }
};

// torchvision BasicBlock / Bottleneck: children conv1, bn1, conv2, bn2, [conv3, bn3], [downsample].
// The forward reads the channels from the layers, so pruning may replace them with smaller ones.
class DETFORGE_API ResNetBlock : public Cloneable<ResNetBlock> {
 public:
  ResNetBlock(const ResNetConfig& cfg, int64_t inplanes, int64_t planes, int64_t stride);
  // cfg supplies conv type (weight standardization) and norm factory; spec the channels.
  ResNetBlock(const ResNetConfig& cfg, const BlockSpec& spec);
  // The channels of the block as it is now (after any pruning).
  BlockSpec spec() const;
  std::string type_name() const override { return bottleneck_ ? "Bottleneck" : "BasicBlock"; }
  Tensor forward(const Tensor& input) override;
  bool bottleneck() const { return bottleneck_; }

 private:
  bool bottleneck_;
};

class DETFORGE_API ResNet : public Cloneable<ResNet> {
 public:
  explicit ResNet(const ResNetConfig& cfg);
  std::string type_name() const override { return "ResNet"; }
  Tensor forward(const Tensor& input) override;               // logits [N, num_classes]
  std::vector<Tensor> forward_features(const Tensor& input);  // C2, C3, C4, C5
  const ResNetConfig& config() const { return cfg_; }
  std::vector<int64_t> feature_channels() const;  // channels of C2..C5, read from the layers

 private:
  ResNetConfig cfg_;
};

// Output channels of the stages "layer1", "layer2", ... (Sequential of ResNetBlock) of any
// ResNet-family model (ResNet, StaticResNet, SmNasBackbone), read from the layers, so pruned and
// morphed models report what they compute.
DETFORGE_API std::vector<int64_t> resnet_stage_channels(const Module& model);

DETFORGE_API std::shared_ptr<ResNet> resnet18(int64_t num_classes = 1000);
DETFORGE_API std::shared_ptr<ResNet> resnet34(int64_t num_classes = 1000);
DETFORGE_API std::shared_ptr<ResNet> resnet50(int64_t num_classes = 1000);
DETFORGE_API std::shared_ptr<ResNet> resnet101(int64_t num_classes = 1000);
DETFORGE_API std::shared_ptr<ResNet> resnext50_32x4d(int64_t num_classes = 1000);
DETFORGE_API std::shared_ptr<ResNet> resnext101_32x8d(int64_t num_classes = 1000);

}  // namespace detforge::nn

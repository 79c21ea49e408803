// StaticResNet: a plain (non-elastic) ResNet built from a stem description and a list of
// BlockSpecs per stage, as extracted from an ElasticResNet supernet (nn/elastic/elastic_resnet.h)
// or written by hand for pruned / morphed students. Blocks are nn::ResNetBlock(cfg, spec), so the
// parameter names are torchvision's ("layer1.0.conv1.weight", "layer2.0.downsample.0.weight",
// "fc.weight"): with the torchvision stem, torchvision widths and depths the state dict has exactly
// the keys and shapes of nn::resnet18 / resnet50.
//
// Stems (names of their children in brackets):
//   "torchvision": 7x7 stride-2 conv (padding 3) + BN + ReLU + 3x3 stride-2 max pool (padding 1)
//                  [conv1, bn1]
//   "ofa":         OFA-ResNet's deep stem: 3x3 stride-2 conv in -> mid + BN + ReLU; a residual
//                  unit y + ReLU(BN(3x3 conv mid -> mid)) (no activation after the add, as OFA's
//                  ResidualBlock with an identity shortcut); 3x3 conv mid -> channels + BN + ReLU;
//                  3x3 stride-2 max pool (padding 1) [conv1, bn1, conv2, bn2, conv3, bn3]
//   "small":       3x3 stride-1 conv + BN + ReLU, no pooling (28x28 / 32x32 inputs) [conv1, bn1]
// Stages are "layer1".."layerN" (Sequential of ResNetBlock); forward_features returns the output of
// every stage (C2..C5 for four stages); forward returns the last stage's output when num_classes is
// 0, else logits: global average pool -> flatten -> "fc" (Linear).
#pragma once
#include <string>
#include <vector>

#include "nn/module.h"
#include "nn/resnet.h"

namespace detforge::nn {

struct ResNetStemSpec {
  std::string kind = "torchvision";  // "torchvision" | "ofa" | "small"
  int64_t in_channels = 3;
  int64_t channels = 64;      // stem output channels
  int64_t mid_channels = 32;  // "ofa" only: the first two convs' channels
};

class DETFORGE_API StaticResNet : public Cloneable<StaticResNet> {
 public:
  // Throws ConfigError for an unknown stem kind, an empty stage or mismatched block channels.
  // init_weights: torchvision's init (kaiming_normal fan_out on convs); false leaves the layers'
  // default init (for extraction, which overwrites every tensor).
  StaticResNet(const ResNetStemSpec& stem, const std::vector<std::vector<BlockSpec>>& stages,
               int64_t num_classes = 0, bool init_weights = true);
  std::string type_name() const override { return "StaticResNet"; }
  Tensor forward(const Tensor& input) override;
  std::vector<Tensor> forward_features(const Tensor& input);
  const ResNetStemSpec& stem() const { return stem_; }
  int64_t num_classes() const { return num_classes_; }
  size_t num_stages() const { return num_stages_; }
  // The blocks' channels as they are now, read from the layers.
  std::vector<std::vector<BlockSpec>> block_specs() const;
  std::vector<int64_t> feature_channels() const;

 private:
  Tensor forward_stem(const Tensor& input);
  ResNetStemSpec stem_;
  int64_t num_classes_;
  size_t num_stages_;
};

}  // namespace detforge::nn

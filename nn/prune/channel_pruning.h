// Channel pruning by network slimming (Liu et al. 2017; Joint-DetNAS 3.3) for ResNet-family models
// (children "layer1".."layerN", Sequential of nn::ResNetBlock: nn::ResNet, nas::SmNasBackbone,
// static subnets). The model is edited in place into a physically smaller static model (smaller
// Conv2d / BatchNorm2d modules holding the kept slices of the old tensors); use clone() first to
// keep the original.
//
// Training side: the sparsity regulariser lambda * sum |gamma| is not a loss term here, it is the
// subgradient lambda * sign(gamma) (sign(0) = 0) added inside the fused SGD / AdamW steps
// (nn/optim: ParamGroup::bn_sparsity_lambda; nn::split_decay_groups(named, base) flags the norm
// gammas). Paper value: lambda = 1e-5.
//
// What is pruned (the "prunable sets"; importance = |gamma| of the BatchNorm2d after the conv):
//   - BasicBlock: the conv1 -> bn1 -> conv2 channels (conv1 output rows, bn1, conv2 input columns).
//   - Bottleneck, groups == 1: the conv1 -> bn1 -> conv2 channels and the conv2 -> bn2 -> conv3
//     channels, each set on its own.
//   - Bottleneck, groups > 1 (ResNeXt): whole groups of the grouped 3x3 conv. Unit k is group k's
//     channels in bn1 AND bn2 (conv1 rows, bn1, conv2 rows of group k, bn2, conv3 columns); its
//     score is the largest |gamma| among them, so it goes only if all of them are small. conv2
//     keeps its channels per group and loses one group per pruned unit, so groups stay valid.
// Residual-tied channels (every block's output = last BN + shortcut): by default left alone. They
// are the stage outputs C2..C5, the interface to the FPN neck, so pruning them needs a matching
// edit outside the backbone; the original network slimming leaves them too. With
// prune_residual = true they are pruned together: a residual group is a block with a downsample
// branch plus the identity blocks that follow it (across stage boundaries, since identity
// shortcuts tie them); its channel c scores max(|gamma_c|) over the downsample BN and every
// member's last BN (bn2 / bn3), so it goes only if small everywhere. Pruning c removes the
// downsample conv / BN rows, every member's last conv / BN rows, the input columns of every later
// member's conv1 and of the next block's conv1 and downsample conv, or, for the model's last
// group, the input columns of a child "fc" that is an nn::Linear (nn::ResNet); any other consumer
// (a detector neck) must be adapted by the caller. Blocks before the first downsample are tied to
// the stem and never pruned this way. Stage output channels change (feature_channels() of
// ResNet / StaticResNet / SmNasBackbone read them from the layers and report the new ones).
//
// Exactness: a pruned channel with gamma = 0 and beta = 0 carries 0 after its BN (+ ReLU), so the
// next conv never saw it; in eval mode the pruned model's outputs then equal the original's.
// (Bottleneck bn2 channels: 0 enters conv3; bn1 channels: 0 enters conv2; a residual channel with
// gamma = beta = 0 in the downsample BN and every member's last BN is relu(0 + 0) = 0 throughout.)
// Only BatchNorm2d + plain Conv2d blocks are supported: GroupNorm ties channels into groups, and
// WSConv2d's weight standardization depends on every input channel; both throw ConfigError.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nn/module.h"

namespace detforge::nn::prune {

struct ChannelPruneOptions {
  // Percentage mode (default): prune floor(percent * channels) of the prunable channels, lowest
  // score first (a residual group's channel counts once); percent in [0, 1). Threshold mode: prune
  // units with score <= threshold (>= 0).
  bool use_threshold = false;
  double percent = 0.1;
  double threshold = 0.0;
  // Global: one ranking / one absolute threshold over every prunable set. Per layer: each set
  // prunes floor(percent * its channels), and the threshold is relative to the set's largest score
  // (prune score <= threshold * max score).
  bool per_layer = false;
  // Also prune the residual-tied channels by residual group (see above); off by default.
  bool prune_residual = false;
  // Every set keeps at least this many units (channels, or groups for grouped convs); >= 1.
  int64_t min_units = 1;
};

// One prunable set after pruning, e.g. {"layer1.0.bn1", 64, 40}; grouped sets are named
// "layer2.0.bn1+bn2" and count channels of bn1 (== bn2); residual groups "layer2.0-layer2.1.out".
struct PrunedSet {
  std::string name;
  int64_t before = 0, after = 0;
};

struct DETFORGE_API ChannelPruneReport {
  int64_t channels_before = 0, channels_after = 0;  // summed over the prunable sets
  std::vector<PrunedSet> sets;
  nlohmann::json to_json() const;
};

// Prunes `model` in place (any device; tensors keep their device and dtype; each replaced layer
// keeps the block's train/eval mode). ConfigError naming the option or the block on bad options or
// unsupported layers.
DETFORGE_API ChannelPruneReport prune_channels(Module& model, const ChannelPruneOptions& options);

}  // namespace detforge::nn::prune

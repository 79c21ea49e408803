// Student morphism with weight inheritance (Joint-DetNAS 3.1.2): f_evolve(S_old, a) -> S_new for
// ResNet-family models (children "layer1".."layerN", Sequential of nn::ResNetBlock: nn::ResNet,
// nas::SmNasBackbone, static subnets). f_evolve clones the model and edits the clone; the input
// model is never touched. Stages are numbered from 1 ("layer<stage>"). No action (except
// channel_prune with prune_residual) changes the stage output channels (feature_channels(), the
// FPN interface), and none changes the stage strides.
//
// Actions (plain data, JSON {"type": ..., ...}):
//   add_layer   {"stage": s, "position": p}  inserts an identity block (stride 1, no downsample,
//       in = out = the channels entering position p: the previous block's output, or the stage's
//       input at p = 0) before position p (-1 / absent: at the end).
//       Inheritance: the new block copies every tensor of its neighbour (the block before it, or
//       the first block when p = 0) whose name and shape match (mid width and groups are the
//       neighbour's; others keep fresh initialization), then its last BN (bn2 / bn3) gets
//       gamma = 0 and beta = 0, so the block computes relu(0 + x) = x on the ReLU output x it
//       receives: the network function is unchanged exactly, in train and eval mode.
//   rearrange   {"stage": s, "direction": "to_next" | "to_prev"}: to_next moves the last block of
//       stage s to the start of stage s+1; to_prev moves the first block of stage s to the end of
//       stage s-1. The source stage must keep >= 1 block.
//       Rule for strides and channels: they belong to the position, not to the block, so every
//       stage keeps its stride, input and output channels. to_next: the moved block M (it must be
//       an identity block, no downsample) becomes stage s+1's first block with the old first
//       block F's input / output channels, stride and downsample branch; F becomes an identity
//       block (stride 1, in = out = F's output). to_prev: the moved block F becomes stage s-1's
//       last block, an identity block at F's input channels; stage s's second block S becomes
//       its first with F's input channels, stride (x S's own) and downsample branch. A rebuilt
//       block keeps its own mid width and groups. Inheritance: each rebuilt block copies every
//       tensor of its old self whose name and shape match (others keep fresh initialization);
//       the downsample branch moves with the first position (old F -> new first block) when the
//       shapes match.
//   layer_prune {"block": "layer3.1"} or {} (least L1 norm, nn/prune/layer_pruning.h): removes a
//       block without downsample from a stage with > 1 blocks; the rest keep their weights.
//   channel_prune {"percent": 0.1} or {"threshold": 1e-3}, optional "per_layer", "min_units",
//       "prune_residual" (nn/prune/channel_pruning.h): network slimming of the blocks' internal
//       channels (and, with prune_residual, of the residual-tied stage outputs, which changes the
//       backbone's feature channels); kept channels keep their weights and BN statistics.
// Impossible actions (missing stage, moving the only block, pruning the only block, percent out of
// range, ...) throw ConfigError naming the action and what is wrong.
#pragma once
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "nn/module.h"
#include "nn/prune/channel_pruning.h"

namespace detforge::nas {

enum class MorphActionType { kAddLayer, kRearrange, kLayerPrune, kChannelPrune };

struct DETFORGE_API MorphAction {
  MorphActionType type = MorphActionType::kAddLayer;
  int stage = 1;                           // add_layer, rearrange: 1-based stage
  int64_t position = -1;                   // add_layer: insert before this index; -1 = append
  bool to_next = true;                     // rearrange: true "to_next", false "to_prev"
  std::string block;                       // layer_prune: "" = least L1 norm
  nn::prune::ChannelPruneOptions channel;  // channel_prune

  static MorphAction add_layer(int stage, int64_t position = -1);
  static MorphAction rearrange(int stage, bool to_next);
  static MorphAction layer_prune(const std::string& block = "");
  static MorphAction channel_prune(double percent, bool per_layer = false);
  static MorphAction channel_prune_threshold(double threshold, bool per_layer = false);

  nlohmann::json to_json() const;
  // ConfigError naming the key ("[morphism.action] key 'stage': ...") on malformed input.
  static MorphAction from_json(const nlohmann::json& j);
  bool operator==(const MorphAction& o) const { return to_json() == o.to_json(); }
};

DETFORGE_API const char* action_type_name(MorphActionType t);

// The morphism f_evolve: a new model (deep copy of `model`, edited); `model` is untouched. When
// `record` is given it receives {"action": action.to_json(), ...what was done: the new / moved /
// removed block paths, tensors inherited, channel counts; "params_before", "params_after",
// "depths_after" (blocks per stage)}.
DETFORGE_API std::shared_ptr<nn::Module> f_evolve(const nn::Module& model,
                                                  const MorphAction& action,
                                                  nlohmann::json* record = nullptr);

}  // namespace detforge::nas

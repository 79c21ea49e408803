// Layer (residual block) pruning for ResNet-family models (children "layer1".."layerN",
// Sequential of nn::ResNetBlock), Joint-DetNAS 3.3: remove the block with the least L1 norm.
//
// Removable blocks: those without a downsample branch (identity shortcut: stride 1 and
// in == out channels) in a stage that has more than one block, so the block's input and output
// shapes agree and removing it leaves the network valid; the stage's first block of a strided /
// widening stage is never removed.
// Importance: the mean absolute value of the block's residual-branch conv weights (conv1, conv2,
// [conv3]), i.e. their L1 norm divided by their element count, so blocks of different widths
// compare; ties go to the earliest block.
// Exactness: a removed block whose last BN has gamma = 0 and beta = 0 computed relu(0 + x) = x
// (x is a ReLU output), so removing it does not change the network's outputs.
// Removing renumbers the stage's later blocks (Sequential::erase), so state-dict keys follow.
#pragma once
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "nn/module.h"
#include "nn/resnet.h"

namespace detforge::nn::prune {

struct DETFORGE_API LayerPruneResult {
  std::string removed;  // "layer3.1" (path before the removal)
  double score = 0.0;
  std::vector<std::pair<std::string, double>> candidates;  // every removable block and its score
  nlohmann::json to_json() const;
};

// Mean |w| over the block's conv1..conv3 weights (the residual branch, downsample excluded).
DETFORGE_API double block_l1_score(const ResNetBlock& block);
// Paths of removable blocks ("layer2.1", ...) in model order.
DETFORGE_API std::vector<std::string> removable_blocks(Module& model);
// Removes the removable block with the least score. ConfigError when there is none.
DETFORGE_API LayerPruneResult prune_layer(Module& model);
// Removes the named block ("layer3.1"). ConfigError naming it when it does not exist, has a
// downsample branch or is the only block of its stage.
DETFORGE_API LayerPruneResult prune_layer(Module& model, const std::string& path);

}  // namespace detforge::nn::prune

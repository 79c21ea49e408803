// Shared helpers for structural edits of ResNet-family models (channel / layer pruning, student
// morphism): any module whose children "layer1".."layerN" are nn::Sequential of nn::ResNetBlock
// (nn::ResNet, nas::SmNasBackbone, static subnets extracted from supernets).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "nn/module.h"
#include "nn/resnet.h"
#include "nn/sequential.h"

namespace detforge::nn::prune {

// One residual block of a model: "layer<stage+1>.<index>".
struct BlockRef {
  std::string path;
  int stage = 0;     // 0-based ("layer1" is stage 0)
  size_t index = 0;  // position inside its stage
  Sequential* layer = nullptr;
  ResNetBlock* block = nullptr;
};

// The stages "layer1".."layerN" (consecutive from 1) in order. ConfigError (naming `who` and the
// child) when there is none, or a stage is not a Sequential of ResNetBlock.
DETFORGE_API std::vector<Sequential*> resnet_stages(Module& model, const std::string& who);
// Every block of every stage, stage by stage.
DETFORGE_API std::vector<BlockRef> resnet_blocks(Module& model, const std::string& who);

// Whether the block has a downsample branch (module present; after pruning the spec's rule
// "stride != 1 || in != out" may no longer say so).
DETFORGE_API bool has_downsample(const ResNetBlock& block);

// A copy of t keeping only the listed indices along dim (same dtype and device, no autograd).
DETFORGE_API Tensor index_channels(const Tensor& t, int64_t dim, const std::vector<int64_t>& keep);

// A ResNetConfig that makes layers of the same kinds as `block`'s: weight standardization when its
// convs are WSConv2d, and a norm factory copying its norm layer's kind and hyper-parameters
// (BatchNorm2d eps / momentum / affine / track_running_stats, GroupNorm groups / eps / affine).
DETFORGE_API ResNetConfig block_config(const ResNetBlock& block);

// Copies every parameter and buffer of src into dst whose dotted name exists in dst with the same
// shape (the tensor is replaced, keeping dst's requires_grad); returns the names copied.
DETFORGE_API std::vector<std::string> inherit_matching(const Module& src, Module& dst);

}  // namespace detforge::nn::prune

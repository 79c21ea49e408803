// ElasticResNet: the ResNet supernets of Joint-DetNAS (elastic teacher pool) and DetOFA
// (OFA-ResNet50), implementing nn::Supernet (nn/elastic/supernet.h).
//
// Structure and names follow torchvision (conv1, bn1, layer1.0.conv1, layer1.0.downsample.0,
// fc) with every layer an elastic one holding max-size parameters (ElasticConv2d,
// ElasticBatchNorm2d, ElasticLinear); extract_subnet(cfg) returns an nn::StaticResNet
// (nn/static_resnet.h) under the same names, so a subnet with the torchvision stem, width 1.0 and
// torchvision depths has exactly nn::resnet18's / resnet50's state-dict keys and shapes.
//
// Rules (one ArchConfig stage per ResNet stage):
//   - depth: the first `depth` blocks of a stage run, the last ones are skipped (OFA's
//     convention); a stage holds max(depth choices) blocks.
//   - width: stage s outputs out = make_divisible(planes[s] * expansion * width_mult, 8) channels,
//     the prefix of the max-width layers (expansion 4 for bottleneck, 1 for basic).
//   - mid channels: basic: mid = out. Bottleneck: mid = make_divisible(round(out * e), 8) with e
//     the block's expand ratio, or e = 1 / expansion when the space has no expand choices
//     (torchvision: mid = planes). round() ties to even and make_divisible(v, 8) =
//     max(8, floor((v + 4) / 8) * 8), plus 8 when that is below 0.9 v: both as OFA.
//   - strides: 1 for the first stage, 2 for the others, on the first block (on the bottleneck's
//     3x3 conv: ResNet v1.5).
//   - shortcut: a block owns a downsample branch (1x1 conv with the block's stride + BN) when its
//     stride is not 1 or some config gives it in != out; it runs only when the active block has
//     stride != 1 or active in != active out, else the identity is used (what a static
//     ResNetBlock of the active channels does).
//   - the stem is not elastic (fixed width), see ElasticResNetOptions::stem.
//   - StageConfig::channels must be 0 or the derived `out`; base_channels and input_resolution
//     are ignored (the caller resizes the input).
//   - extraction copies, for every tensor of the StaticResNet, the leading slice of the
//     same-named supernet tensor (all slices are prefixes: fixed kernels, no index lists); the
//     subnet gets the supernet's train / eval mode.
//
// Presets:
//   joint_detnas_resnet(bottleneck): Joint-DetNAS's ETP backbone: torchvision stem, depths
//     {2,3} x {2,3,4} x {2..23} x {2,3}, width {1.0, 1.25, 1.5} per stage.
//   ofa_resnet50(): DetOFA's OFA-ResNet50: OFA's deep stem (64 channels, mid 32), bottleneck
//     blocks, depth = base + D with base (2, 2, 4, 2) and D in {0, 1, 2}, width W in
//     {0.65, 0.8, 1.0} per stage (out 256 W, 512 W, 1024 W, 2048 W rounded as above), expand E in
//     {0.2, 0.25, 0.35} per block (mid = out * E rounded as above). Differences from OFA's code:
//     the stem is fixed at full width and never skipped (OFA also searches two stem widths and
//     skipping the stem's residual unit; DetOFA's space counts only per-stage D, W, E) and the
//     downsample is torchvision's strided 1x1 conv, not OFA's avgpool + 1x1 conv, so extracted
//     subnets are plain ResNetBlocks.
//
//   small_resnet_options(): a small fast space for 28x28 Fashion-MNIST classification.
//
// Cost: set_active only stores channel counts in the layers; forward adds nothing to the elastic
// ops (an output prefix over all input channels is a view of the weight, an input-channel slice
// one gather per layer: nn/elastic/elastic_layers.h).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "nn/elastic/supernet.h"
#include "nn/resnet.h"
#include "nn/static_resnet.h"

namespace detforge::nn {

// One elastic residual block (children conv1, bn1, conv2, bn2, [conv3, bn3], [downsample.0/.1]
// as torchvision). Input channels come from the input; set_active picks mid / out prefixes.
class DETFORGE_API ElasticResNetBlock : public Cloneable<ElasticResNetBlock> {
 public:
  ElasticResNetBlock(bool bottleneck, int64_t max_in, int64_t max_mid, int64_t max_out,
                     int64_t stride, bool has_downsample);
  std::string type_name() const override {
    return bottleneck_ ? "ElasticBottleneck" : "ElasticBasicBlock";
  }
  void set_active(int64_t mid, int64_t out);
  Tensor forward(const Tensor& input) override;
  bool bottleneck() const { return bottleneck_; }
  int64_t stride() const { return stride_; }

 private:
  bool bottleneck_;
  int64_t stride_;
};

struct ElasticResNetOptions {
  bool bottleneck = false;
  // One entry per stage (depths, width_mults, expand_ratios; kernel_sizes must be empty;
  // expand_ratios only for bottleneck). Empty depths = 1 block, empty width_mults = 1.0.
  std::vector<StageChoices> stages;
  std::vector<int64_t> planes{64, 128, 256, 512};  // reference planes per stage
  // "torchvision" | "ofa" | "small" (nn/static_resnet.h). stem_channels is the stem's output;
  // the "ofa" stem's first two convs have make_divisible(stem_channels / 2, 8) channels.
  std::string stem = "torchvision";
  int64_t stem_channels = 64;
  int64_t in_channels = 3;
  int64_t num_classes = 0;         // 0: backbone only (forward returns the last stage's output)
  int64_t input_resolution = 224;  // copied into space() and sampled configs
};

class DETFORGE_API ElasticResNet : public Cloneable<ElasticResNet, Supernet> {
 public:
  explicit ElasticResNet(const ElasticResNetOptions& options);
  std::string type_name() const override { return "ElasticResNet"; }

  const SearchSpace& space() const override { return space_; }
  // ConfigError "[nn.ElasticResNet] stages[2].depth: 7 not in {2, 3}" outside space().
  void set_active(const ArchConfig& cfg) override;
  Tensor forward(const Tensor& input) override;
  std::vector<Tensor> forward_features(const Tensor& input) override;
  // A StaticResNet (eval/train mode copied) with the weights of cfg's slices.
  std::shared_ptr<Module> extract_subnet(const ArchConfig& cfg) const override;
  std::shared_ptr<StaticResNet> extract(const ArchConfig& cfg) const;

  // OFA's re_organize_middle_weights, before shrinking widths / expand ratios in progressive
  // shrinking: in every block the mid channels are sorted by importance (L1 of the next conv's
  // weights over each channel, nn::sort_channels_by_importance): bottleneck conv2 by conv3, then
  // conv1 by conv2; basic conv1 by conv2. Function-preserving at every config whose mid channels
  // are all active; block outputs (tied by the residual path) are not reordered.
  void reorganize_channels();

  const ElasticResNetOptions& options() const { return opt_; }
  ResNetStemSpec stem_spec() const;
  // The blocks (channels, strides) cfg selects; checks cfg like set_active.
  std::vector<std::vector<BlockSpec>> block_specs(const ArchConfig& cfg) const;
  int64_t stage_out_channels(size_t s, double w) const;

 private:
  ElasticResNetOptions opt_;
  SearchSpace space_;
  std::vector<int64_t> active_depth_;
};

// The rules above as free functions of the options, usable without building the supernet (cheap:
// FLOPs / latency estimates, tests). The options are validated as by the constructor.
DETFORGE_API SearchSpace elastic_resnet_space(const ElasticResNetOptions& options);
DETFORGE_API ResNetStemSpec elastic_resnet_stem(const ElasticResNetOptions& options);
// Output channels of stage s at width_mult w.
DETFORGE_API int64_t elastic_resnet_stage_channels(const ElasticResNetOptions& options, size_t s,
                                                   double w);
// Bottleneck mid channels for `out` output channels and expand ratio e.
DETFORGE_API int64_t elastic_resnet_mid_channels(int64_t out, double e);
// The blocks cfg selects; ConfigError naming the key path when cfg is outside the space.
DETFORGE_API std::vector<std::vector<BlockSpec>> elastic_resnet_block_specs(
    const ElasticResNetOptions& options, const ArchConfig& cfg);

// OFA's make_divisible(v, divisor) (min value = divisor).
DETFORGE_API int64_t make_divisible(double v, int64_t divisor = 8);

// Multiply-accumulates of cfg's subnet for one height x width image, counted without building
// anything, with nas/profiler/flops.h's convention (Conv2d and Linear MACs only): equals
// nas::profile_cost(*extract(cfg), {1, C, height, width}).macs. For FLOPs-constrained sampling.
DETFORGE_API int64_t elastic_resnet_macs(const ElasticResNetOptions& options, const ArchConfig& cfg,
                                         int64_t height, int64_t width);

DETFORGE_API ElasticResNetOptions joint_detnas_resnet_options(bool bottleneck,
                                                              int64_t num_classes = 0);
DETFORGE_API ElasticResNetOptions ofa_resnet50_options(int64_t num_classes = 0);
// A small fast supernet for 28x28 classification (train-cls on Fashion-MNIST): "small" stem of 16
// channels, basic blocks, 3 stages of planes 16, 32, 64 (strides 1, 2, 2), depth {1, 2, 3} and
// width {0.5, 0.75, 1.0} per stage; input_resolution 28.
DETFORGE_API ElasticResNetOptions small_resnet_options(int64_t num_classes = 10,
                                                       int64_t in_channels = 1);
DETFORGE_API std::shared_ptr<ElasticResNet> joint_detnas_resnet(bool bottleneck,
                                                                int64_t num_classes = 0);
DETFORGE_API std::shared_ptr<ElasticResNet> ofa_resnet50(int64_t num_classes = 0);

}  // namespace detforge::nn

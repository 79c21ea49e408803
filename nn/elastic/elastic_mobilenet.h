// ElasticMobileNet: the elastic MobileNet search space of OFA / DONNA (issue 3 item 4) as a
// Supernet: per stage depth {2, 3, 4}, per block expand ratio {3, 4, 6} and depthwise kernel
// {3, 5, 7} (all three lists configurable). Channels / strides follow MobileNetV2 (OFA's
// MobileNetV2 space without the fixed 320 block):
//
//   module       out channels (x width_mult, /8)  stride (small_input)  kind
//   stem         32                               2 (1)                 3x3 conv + BN + ReLU6
//   first_block  16                               2 (1)                 MBConv, expand 1, k 3
//   stages.0     24                               4 (2)   -> C2         elastic, first block s2
//   stages.1     32                               8 (4)   -> C3         elastic, first block s2
//   stages.2     64                               16 (8)                elastic, first block s2
//   stages.3     96                               16 (8)  -> C4         elastic, stride 1
//   stages.4     160                              32 (16)               elastic, first block s2
//   final        last_channels (1280 x max(1, w)) 32 (16) -> C5         1x1 conv + BN + ReLU6
//   classifier   num_classes                                            Dropout + Linear
//
// forward_features returns {C2, C3, C4, C5} = the outputs of stages.0, stages.1, stages.3 and
// final (as nn/mobilenet_v2.h: features.3, .6, .13, .18). forward = classifier(avgpool(C5));
// with num_classes == 0 there is no classifier and forward returns avgpool(C5) as [N, C].
// small_input uses a stride-1 stem (28x28 Fashion-MNIST), halving every stride above.
//
// Every searchable stage holds max(depths) ElasticInvertedResidual blocks; a config of depth d
// runs the first d (the rest get no gradient). Block b of a stage maps in -> out channels
// (in = the previous stage's out for b == 0, else out), stride s for b == 0 else 1, residual
// when stride 1 and in == out. Its mid channels are make_divisible(in * e, 8) (OFA's rule) for
// the active expand ratio e: a prefix of the 1x1 expand conv's rows, of the depthwise conv and of
// the projection's input columns (ElasticConv2d / ElasticBatchNorm2d slices, so inactive
// channels get exactly zero gradient). The depthwise kernel k in {7, 5, 3} is the centre crop
// through OFA's learned 25x25 / 9x9 kernel transforms (ElasticConv2d). sort_channels() re-sorts
// the mid channels by importance (OFA); a trainer calls it, set_active never does.
//
// Parameter names: "stem.0.weight", "first_block.dw_conv.weight", "stages.2.3.expand_conv.weight",
// "stages.2.3.dw_conv.kernel_transform_7to5", "final.1.running_mean", "classifier.1.weight".
// extract_subnet(cfg) returns a MobileNetSubnet: the same names, only the active blocks, each a
// static MBConvBlock with the active kernel and mid channels and copied (kernel-transformed)
// weights and BN statistics; its forward / forward_features equal the supernet's with cfg
// active (eval and train mode).
#pragma once
#include <memory>
#include <vector>

#include "nn/elastic/supernet.h"
#include "nn/sequential.h"

namespace detforge::nn {

struct ElasticMobileNetOptions {
  int64_t num_classes = 1000;  // 0 = backbone only (no classifier)
  int64_t in_channels = 3;
  double width_mult = 1.0;       // scales stem, first block and stage widths (make_divisible 8)
  int64_t last_channels = 1280;  // final 1x1 conv width (x max(1, width_mult), make_divisible 8)
  bool small_input = false;      // stride-1 stem
  double dropout = 0.2;
  int64_t input_resolution = 224;  // copied into space().input_resolution
  std::vector<int64_t> depths{2, 3, 4};
  std::vector<double> expand_ratios{3, 4, 6};
  std::vector<int64_t> kernel_sizes{3, 5, 7};
};

// A static MobileNet inverted residual (MBConv) with any kernel size and mid width. Children:
// "expand_conv" / "expand_bn" (1x1 in -> mid + BN + ReLU6; absent when has_expand is false, then
// mid == in), "dw_conv" / "dw_bn" (k x k depthwise, stride, + BN + ReLU6), "project_conv" /
// "project_bn" (1x1 mid -> out + BN, linear). Residual when stride == 1 and in == out.
class DETFORGE_API MBConvBlock : public Cloneable<MBConvBlock> {
 public:
  MBConvBlock(int64_t in, int64_t mid, int64_t out, int64_t kernel, int64_t stride,
              bool has_expand = true);
  std::string type_name() const override { return "MBConvBlock"; }
  Tensor forward(const Tensor& input) override;
  bool use_residual() const { return res_; }

 private:
  bool res_, expand_;
};

// The elastic MBConv block: the same children as MBConvBlock (always with the expand conv) over
// max-size ElasticConv2d / ElasticBatchNorm2d layers.
class DETFORGE_API ElasticInvertedResidual : public Cloneable<ElasticInvertedResidual> {
 public:
  ElasticInvertedResidual(int64_t in, int64_t out, int64_t stride, double max_expand,
                          const std::vector<int64_t>& kernel_sizes);
  std::string type_name() const override { return "ElasticInvertedResidual"; }
  Tensor forward(const Tensor& input) override;
  // Active mid channels make_divisible(in * expand, 8) and depthwise kernel.
  void set_active(double expand, int64_t kernel);
  int64_t mid_channels(double expand) const;
  int64_t active_mid() const { return mid_; }
  int64_t active_kernel() const { return k_; }
  // The static block of the active choice (weights copied).
  std::shared_ptr<MBConvBlock> extract() const;
  // OFA's re-organisation of the mid channels: sorts them by the L1 norm of the projection's
  // input columns (descending, stable) and permutes the expand conv's rows, expand_bn, the
  // depthwise conv's rows, dw_bn and the projection's columns alike, so the largest expand
  // computes the same function and smaller expands keep the most important channels.
  // Returns the permutation (new position -> old channel).
  std::vector<int64_t> sort_channels();

 private:
  int64_t in_, out_, stride_, max_mid_, mid_, k_;
  bool res_;
};

// The static model extract_subnet returns (also constructible as a plain MobileNet-like net).
class DETFORGE_API MobileNetSubnet : public Cloneable<MobileNetSubnet> {
 public:
  MobileNetSubnet() = default;
  std::string type_name() const override { return "MobileNetSubnet"; }
  Tensor forward(const Tensor& input) override;
  std::vector<Tensor> forward_features(const Tensor& input);  // C2, C3, C4, C5
  const std::vector<int64_t>& feature_channels() const { return tap_channels_; }

 private:
  friend class ElasticMobileNet;
  std::vector<int64_t> tap_channels_;
};

class DETFORGE_API ElasticMobileNet : public Cloneable<ElasticMobileNet, Supernet> {
 public:
  explicit ElasticMobileNet(const ElasticMobileNetOptions& options = {});
  std::string type_name() const override { return "ElasticMobileNet"; }
  const SearchSpace& space() const override { return space_; }
  // ConfigError "[nn.ElasticMobileNet] stages[1].kernel_sizes[0]: 9 not in {3, 5, 7}" etc.
  void set_active(const ArchConfig& cfg) override;
  std::shared_ptr<Module> extract_subnet(const ArchConfig& cfg) const override;
  Tensor forward(const Tensor& input) override;
  std::vector<Tensor> forward_features(const Tensor& input) override;
  // ElasticInvertedResidual::sort_channels on every elastic block (OFA does this before each
  // progressive-shrinking phase that shrinks the expand ratio).
  void sort_channels();

  const ElasticMobileNetOptions& options() const { return opt_; }
  const std::vector<int64_t>& stage_channels() const { return stage_out_; }       // 5 stages
  const std::vector<int64_t>& feature_channels() const { return tap_channels_; }  // C2..C5
  const std::vector<int64_t>& feature_strides() const { return tap_strides_; }    // C2..C5
  static constexpr int kNumStages = 5;

 private:
  ElasticMobileNetOptions opt_;
  SearchSpace space_;
  std::vector<int64_t> stage_out_, tap_channels_, tap_strides_;
};

}  // namespace detforge::nn

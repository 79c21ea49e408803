#include "nn/elastic/elastic_mobilenet.h"

#include <algorithm>

#include "autograd/elementwise.h"
#include "autograd/grad_mode.h"
#include "autograd/indexing.h"
#include "autograd/norm_pool.h"
#include "nn/activation.h"
#include "nn/conv.h"
#include "nn/dropout.h"
#include "nn/elastic/elastic_layers.h"
#include "nn/init.h"
#include "nn/linear.h"
#include "nn/mobilenet_v2.h"
#include "nn/norm.h"
#include "tensor/error.h"
#include "tensor/view_ops.h"

namespace detforge::nn {

namespace {
constexpr int64_t kStageBase[5] = {24, 32, 64, 96, 160};
constexpr int64_t kStageStride[5] = {2, 2, 2, 1, 2};
constexpr int kTapStages[3] = {0, 1, 3};  // C2, C3, C4; C5 is "final"

bool is_tap(int s) {
  return s == kTapStages[0] || s == kTapStages[1] || s == kTapStages[2];
}

Tensor pooled(const Tensor& c5) {
  return adaptive_avg_pool2d(c5, {1, 1}).flatten(1);
}
}  // namespace

// ---------------------------------------------------------------- MBConvBlock
MBConvBlock::MBConvBlock(int64_t in, int64_t mid, int64_t out, int64_t k, int64_t stride,
                         bool has_expand)
    : res_(stride == 1 && in == out), expand_(has_expand) {
  DF_CHECK(in > 0 && mid > 0 && out > 0 && k >= 1 && k % 2 == 1 && stride >= 1, ConfigError,
           "[nn.MBConvBlock] bad block in ", in, " mid ", mid, " out ", out, " kernel ", k,
           " stride ", stride);
  DF_CHECK(has_expand || mid == in, ConfigError,
           "[nn.MBConvBlock] without expand conv mid must equal in, got ", mid, " and ", in);
  if (has_expand) {
    register_module("expand_conv", std::make_shared<Conv2d>(in, mid, 1, 1, 0, 1, 1, false));
    register_module("expand_bn", std::make_shared<BatchNorm2d>(mid));
  }
  register_module("dw_conv", std::make_shared<Conv2d>(mid, mid, k, stride, k / 2, 1, mid, false));
  register_module("dw_bn", std::make_shared<BatchNorm2d>(mid));
  register_module("project_conv", std::make_shared<Conv2d>(mid, out, 1, 1, 0, 1, 1, false));
  register_module("project_bn", std::make_shared<BatchNorm2d>(out));
}

Tensor MBConvBlock::forward(const Tensor& x) {
  Tensor y = x;
  if (expand_) y = relu6(child("expand_bn").forward(child("expand_conv").forward(y)));
  y = relu6(child("dw_bn").forward(child("dw_conv").forward(y)));
  y = child("project_bn").forward(child("project_conv").forward(y));
  return res_ ? add(x, y) : y;
}

// ---------------------------------------------------------------- ElasticInvertedResidual
ElasticInvertedResidual::ElasticInvertedResidual(int64_t in, int64_t out, int64_t stride,
                                                 double max_expand,
                                                 const std::vector<int64_t>& kernel_sizes)
    : in_(in), out_(out), stride_(stride), res_(stride == 1 && in == out) {
  DF_CHECK(in > 0 && out > 0 && max_expand > 0 && !kernel_sizes.empty(), ConfigError,
           "[nn.ElasticInvertedResidual] bad block in ", in, " out ", out, " expand ", max_expand);
  max_mid_ = mid_channels(max_expand);
  ElasticConv2dOptions e;
  e.max_in_channels = in;
  e.max_out_channels = max_mid_;
  e.kernel_sizes = {1};
  register_module("expand_conv", std::make_shared<ElasticConv2d>(e));
  register_module("expand_bn", std::make_shared<ElasticBatchNorm2d>(max_mid_));
  ElasticConv2dOptions d;
  d.max_in_channels = d.max_out_channels = max_mid_;
  d.kernel_sizes = kernel_sizes;
  d.stride = stride;
  d.depthwise = true;
  register_module("dw_conv", std::make_shared<ElasticConv2d>(d));
  register_module("dw_bn", std::make_shared<ElasticBatchNorm2d>(max_mid_));
  ElasticConv2dOptions p;
  p.max_in_channels = max_mid_;
  p.max_out_channels = out;
  p.kernel_sizes = {1};
  register_module("project_conv", std::make_shared<ElasticConv2d>(p));
  register_module("project_bn", std::make_shared<ElasticBatchNorm2d>(out));
  mid_ = max_mid_;
  k_ = child<ElasticConv2d>("dw_conv").max_kernel();
}

int64_t ElasticInvertedResidual::mid_channels(double expand) const {
  return make_divisible(static_cast<double>(in_) * expand, 8);
}

void ElasticInvertedResidual::set_active(double expand, int64_t kernel) {
  const int64_t mid = mid_channels(expand);
  DF_CHECK(mid <= max_mid_, ConfigError, "[nn.ElasticInvertedResidual] expand ratio ", expand,
           " gives ", mid, " mid channels, more than the ", max_mid_, " stored");
  child<ElasticConv2d>("dw_conv").set_active(mid, kernel);  // checks the kernel first
  child<ElasticConv2d>("expand_conv").set_active(mid, 1);
  child<ElasticConv2d>("project_conv").set_active(out_, 1);
  mid_ = mid;
  k_ = kernel;
}

Tensor ElasticInvertedResidual::forward(const Tensor& x) {
  DF_CHECK(x.dim() == 4 && x.size(1) == in_, ShapeError,
           "[nn.ElasticInvertedResidual] expects [N, ", in_, ", H, W], got ", shape_str(x.shape()));
  Tensor y = relu6(child("expand_bn").forward(child("expand_conv").forward(x)));
  y = relu6(child("dw_bn").forward(child("dw_conv").forward(y)));
  y = child("project_bn").forward(child("project_conv").forward(y));
  return res_ ? add(x, y) : y;
}

std::shared_ptr<MBConvBlock> ElasticInvertedResidual::extract() const {
  auto b = std::make_shared<MBConvBlock>(in_, mid_, out_, k_, stride_, true);
  b->replace_module("expand_conv", child<ElasticConv2d>("expand_conv").extract(in_));
  b->replace_module("expand_bn", child<ElasticBatchNorm2d>("expand_bn").extract(mid_));
  b->replace_module("dw_conv", child<ElasticConv2d>("dw_conv").extract(mid_));
  b->replace_module("dw_bn", child<ElasticBatchNorm2d>("dw_bn").extract(mid_));
  b->replace_module("project_conv", child<ElasticConv2d>("project_conv").extract(mid_));
  b->replace_module("project_bn", child<ElasticBatchNorm2d>("project_bn").extract(out_));
  b->train(is_training());
  return b;
}

std::vector<int64_t> ElasticInvertedResidual::sort_channels() {
  auto& dw = child<ElasticConv2d>("dw_conv");
  auto& dw_bn = child<ElasticBatchNorm2d>("dw_bn");
  std::vector<int64_t> perm = sort_channels_by_importance(child<ElasticConv2d>("expand_conv"),
                                                          &child<ElasticBatchNorm2d>("expand_bn"),
                                                          child<ElasticConv2d>("project_conv"));
  NoGradGuard ng;
  auto permute = [&](const Tensor& t) {
    Tensor idx = Tensor::from_vector(perm, {static_cast<int64_t>(perm.size())}).to(t.device());
    Tensor moved = index_select(t, 0, idx);
    raw::copy(t, moved);
  };
  permute(dw.param("weight"));  // [mid, 1, K, K]; the kernel transforms are shared by all rows
  for (const char* n : {"weight", "bias"}) permute(dw_bn.param(n));
  for (const char* n : {"running_mean", "running_var"}) permute(dw_bn.buffer(n));
  return perm;
}

// ---------------------------------------------------------------- MobileNetSubnet
std::vector<Tensor> MobileNetSubnet::forward_features(const Tensor& x) {
  std::vector<Tensor> out;
  Tensor y = child("first_block").forward(child("stem").forward(x));
  auto& stages = child<Sequential>("stages");
  for (size_t s = 0; s < stages.size(); ++s) {
    y = stages[s].forward(y);
    if (is_tap(static_cast<int>(s))) out.push_back(y);
  }
  out.push_back(child("final").forward(y));
  return out;
}

Tensor MobileNetSubnet::forward(const Tensor& x) {
  Tensor p = pooled(forward_features(x).back());
  for (const auto& c : named_children())
    if (c.first == "classifier") return c.second->forward(p);
  return p;
}

// ---------------------------------------------------------------- ElasticMobileNet
ElasticMobileNet::ElasticMobileNet(const ElasticMobileNetOptions& o) : opt_(o) {
  DF_CHECK(o.in_channels > 0 && o.width_mult > 0 && o.last_channels > 0 && o.num_classes >= 0,
           ConfigError,
           "[nn.ElasticMobileNet] in_channels, width_mult and last_channels must be "
           "positive and num_classes >= 0");
  DF_CHECK(!o.depths.empty() && !o.expand_ratios.empty() && !o.kernel_sizes.empty(), ConfigError,
           "[nn.ElasticMobileNet] depths, expand_ratios and kernel_sizes must be non-empty");
  for (int64_t d : o.depths)
    DF_CHECK(d >= 1, ConfigError, "[nn.ElasticMobileNet] depths must be >= 1, got ", d);
  const int64_t max_depth = *std::max_element(o.depths.begin(), o.depths.end());
  const double max_expand = *std::max_element(o.expand_ratios.begin(), o.expand_ratios.end());
  const double w = o.width_mult;
  const int64_t stem_out = make_divisible(32 * w, 8), first_out = make_divisible(16 * w, 8);
  const int64_t last = make_divisible(static_cast<double>(o.last_channels) * std::max(1.0, w), 8);

  register_module("stem", conv_bn_act(o.in_channels, stem_out, 3, o.small_input ? 1 : 2));
  register_module("first_block",
                  std::make_shared<MBConvBlock>(stem_out, stem_out, first_out, 3, 1, false));
  auto stages = std::make_shared<Sequential>();
  int64_t in = first_out, stride = o.small_input ? 1 : 2;
  space_.block_type = "inverted_residual";
  space_.input_resolution = o.input_resolution;
  for (int s = 0; s < kNumStages; ++s) {
    const int64_t out = make_divisible(static_cast<double>(kStageBase[s]) * w, 8);
    auto stage = std::make_shared<Sequential>();
    for (int64_t b = 0; b < max_depth; ++b)
      stage->push_back(std::make_shared<ElasticInvertedResidual>(
          b == 0 ? in : out, out, b == 0 ? kStageStride[s] : 1, max_expand, o.kernel_sizes));
    stages->push_back(stage);
    stride *= kStageStride[s];
    if (is_tap(s)) {
      tap_channels_.push_back(out);
      tap_strides_.push_back(stride);
    }
    stage_out_.push_back(out);
    in = out;
    StageChoices sc;
    sc.depths = o.depths;
    sc.expand_ratios = o.expand_ratios;
    sc.kernel_sizes = o.kernel_sizes;
    space_.stages.push_back(sc);
  }
  register_module("stages", stages);
  register_module("final", conv_bn_act(in, last, 1));
  tap_channels_.push_back(last);
  tap_strides_.push_back(stride);
  if (o.num_classes > 0) {
    auto classifier = std::make_shared<Sequential>();
    classifier->push_back(std::make_shared<Dropout>(o.dropout));
    classifier->push_back(std::make_shared<Linear>(last, o.num_classes));
    register_module("classifier", classifier);
  }
  // torchvision MobileNetV2's init: conv kaiming_normal(fan_out), BN 1 / 0, Linear N(0, 0.01) / 0.
  apply([&](Module& m) {
    if (dynamic_cast<Conv2d*>(&m) || dynamic_cast<ElasticConv2d*>(&m)) {
      init::kaiming_normal_(m.param("weight"), "fan_out");
    } else if (auto* l = dynamic_cast<Linear*>(&m)) {
      init::normal_(l->param("weight"), 0.0, 0.01);
      init::constant_(l->param("bias"), 0.0);
    }
  });
  set_active(space_.largest());
}

void ElasticMobileNet::set_active(const ArchConfig& cfg) {
  space_.check(cfg, "nn.ElasticMobileNet");
  auto& stages = child<Sequential>("stages");
  for (int s = 0; s < kNumStages; ++s) {
    const StageConfig& sc = cfg.stages[s];
    auto& stage = dynamic_cast<Sequential&>(stages[s]);
    for (int64_t b = 0; b < sc.depth; ++b)
      dynamic_cast<ElasticInvertedResidual&>(stage[b]).set_active(sc.expand_ratios[b],
                                                                  sc.kernel_sizes[b]);
  }
  active_ = cfg;
}

void ElasticMobileNet::sort_channels() {
  auto& stages = child<Sequential>("stages");
  for (int s = 0; s < kNumStages; ++s) {
    auto& stage = dynamic_cast<Sequential&>(stages[s]);
    for (size_t b = 0; b < stage.size(); ++b)
      dynamic_cast<ElasticInvertedResidual&>(stage[b]).sort_channels();
  }
}

std::vector<Tensor> ElasticMobileNet::forward_features(const Tensor& x) {
  DF_CHECK(x.dim() == 4 && x.size(1) == opt_.in_channels, ShapeError,
           "[nn.ElasticMobileNet] expects [N, ", opt_.in_channels, ", H, W], got ",
           shape_str(x.shape()));
  std::vector<Tensor> out;
  Tensor y = child("first_block").forward(child("stem").forward(x));
  auto& stages = child<Sequential>("stages");
  for (int s = 0; s < kNumStages; ++s) {
    auto& stage = dynamic_cast<Sequential&>(stages[s]);
    for (int64_t b = 0; b < active_.stages[s].depth; ++b) y = stage[b].forward(y);
    if (is_tap(s)) out.push_back(y);
  }
  out.push_back(child("final").forward(y));
  return out;
}

Tensor ElasticMobileNet::forward(const Tensor& x) {
  Tensor p = pooled(forward_features(x).back());
  return opt_.num_classes > 0 ? child("classifier").forward(p) : p;
}

std::shared_ptr<Module> ElasticMobileNet::extract_subnet(const ArchConfig& cfg) const {
  space_.check(cfg, "nn.ElasticMobileNet");
  auto net = std::make_shared<MobileNetSubnet>();
  net->register_module("stem", child("stem").clone());
  net->register_module("first_block", child("first_block").clone());
  auto stages = std::make_shared<Sequential>();
  const auto& super_stages = child<Sequential>("stages");
  for (int s = 0; s < kNumStages; ++s) {
    const StageConfig& sc = cfg.stages[s];
    auto& stage = dynamic_cast<Sequential&>(super_stages[s]);
    auto st = std::make_shared<Sequential>();
    for (int64_t b = 0; b < sc.depth; ++b) {
      // A copy of this one block (its max-size weights) is set active, so the supernet is const.
      auto blk = stage[b].clone_as<ElasticInvertedResidual>();
      blk->set_active(sc.expand_ratios[b], sc.kernel_sizes[b]);
      st->push_back(blk->extract());
    }
    stages->push_back(st);
  }
  net->register_module("stages", stages);
  net->register_module("final", child("final").clone());
  if (opt_.num_classes > 0) net->register_module("classifier", child("classifier").clone());
  net->tap_channels_ = tap_channels_;
  net->train(is_training());
  return net;
}

}  // namespace detforge::nn

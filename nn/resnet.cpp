#include "nn/resnet.h"

#include <algorithm>

#include "autograd/elementwise.h"
#include "autograd/norm_pool.h"
#include "nn/conv.h"
#include "nn/init.h"
#include "nn/linear.h"
#include "nn/norm.h"
#include "nn/sequential.h"
#include "tensor/error.h"

namespace detforge::nn {

namespace {
std::shared_ptr<Module> make_conv(const ResNetConfig& cfg, int64_t in, int64_t out, int64_t k,
                                  int64_t stride, int64_t groups = 1) {
  Conv2dOptions o{in, out, {k}, {stride}, {k / 2}, {1}, groups, false};
  if (cfg.weight_standardization) return std::make_shared<WSConv2d>(o);
  return std::make_shared<Conv2d>(o);
}
std::shared_ptr<Module> make_norm(const ResNetConfig& cfg, int64_t c) {
  if (cfg.norm_layer) return cfg.norm_layer(c);
  return std::make_shared<BatchNorm2d>(c);
}
}  // namespace

namespace {
BlockSpec torchvision_spec(const ResNetConfig& cfg, int64_t inplanes, int64_t planes,
                           int64_t stride) {
  BlockSpec b;
  b.bottleneck = cfg.bottleneck;
  b.in_channels = inplanes;
  b.stride = stride;
  if (!cfg.bottleneck) {
    DF_CHECK(cfg.groups == 1 && cfg.width_per_group == 64, ConfigError,
             "[nn.BasicBlock] only supports groups=1 and width_per_group=64, got ", cfg.groups,
             ", ", cfg.width_per_group);
    b.mid_channels = b.out_channels = planes;
  } else {
    b.mid_channels = planes * cfg.width_per_group / 64 * cfg.groups;
    b.out_channels = planes * 4;
    b.groups = cfg.groups;
  }
  return b;
}
}  // namespace

ResNetBlock::ResNetBlock(const ResNetConfig& cfg, int64_t inplanes, int64_t planes, int64_t stride)
    : ResNetBlock(cfg, torchvision_spec(cfg, inplanes, planes, stride)) {}

ResNetBlock::ResNetBlock(const ResNetConfig& cfg, const BlockSpec& b) : bottleneck_(b.bottleneck) {
  DF_CHECK(b.in_channels > 0 && b.mid_channels > 0 && b.out_channels > 0 && b.stride > 0 &&
               b.groups > 0 && b.mid_channels % b.groups == 0,
           ConfigError, "[nn.ResNetBlock] invalid spec: in ", b.in_channels, ", mid ",
           b.mid_channels, ", out ", b.out_channels, ", stride ", b.stride, ", groups ", b.groups);
  if (!bottleneck_) {
    DF_CHECK(b.groups == 1, ConfigError, "[nn.BasicBlock] groups must be 1, got ", b.groups);
    register_module("conv1", make_conv(cfg, b.in_channels, b.mid_channels, 3, b.stride));
    register_module("bn1", make_norm(cfg, b.mid_channels));
    register_module("conv2", make_conv(cfg, b.mid_channels, b.out_channels, 3, 1));
    register_module("bn2", make_norm(cfg, b.out_channels));
  } else {
    register_module("conv1", make_conv(cfg, b.in_channels, b.mid_channels, 1, 1));
    register_module("bn1", make_norm(cfg, b.mid_channels));
    register_module("conv2", make_conv(cfg, b.mid_channels, b.mid_channels, 3, b.stride, b.groups));
    register_module("bn2", make_norm(cfg, b.mid_channels));
    register_module("conv3", make_conv(cfg, b.mid_channels, b.out_channels, 1, 1));
    register_module("bn3", make_norm(cfg, b.out_channels));
  }
  if (b.has_downsample()) {
    auto ds = std::make_shared<Sequential>();
    ds->push_back(make_conv(cfg, b.in_channels, b.out_channels, 1, b.stride));
    ds->push_back(make_norm(cfg, b.out_channels));
    register_module("downsample", ds);
  }
}

BlockSpec ResNetBlock::spec() const {
  const auto& c1 = child<Conv2d>("conv1");
  const auto& c2 = child<Conv2d>("conv2");
  BlockSpec b;
  b.bottleneck = bottleneck_;
  b.in_channels = c1.param("weight").size(1);
  b.mid_channels = c1.param("weight").size(0);
  b.stride = (bottleneck_ ? c2 : c1).options().stride[0];
  b.groups = c2.options().groups;
  b.out_channels = (bottleneck_ ? child<Conv2d>("conv3") : c2).param("weight").size(0);
  return b;
}

Tensor ResNetBlock::forward(const Tensor& x) {
  Tensor y = relu(child("bn1").forward(child("conv1").forward(x)));
  y = child("bn2").forward(child("conv2").forward(y));
  if (bottleneck_) y = child("bn3").forward(child("conv3").forward(relu(y)));
  Tensor identity =
      named_children().back().first == "downsample" ? child("downsample").forward(x) : x;
  return relu(add(y, identity));
}

ResNet::ResNet(const ResNetConfig& cfg) : cfg_(cfg) {
  DF_CHECK(cfg.layers.size() == 4, ConfigError, "[nn.ResNet] layers needs 4 stage depths, got ",
           cfg.layers.size());
  register_module("conv1", make_conv(cfg, cfg.in_channels, 64, 7, 2));  // padding 3
  register_module("bn1", make_norm(cfg, 64));
  int64_t inplanes = 64, expansion = cfg.bottleneck ? 4 : 1;
  const int64_t planes[4] = {64, 128, 256, 512};
  for (int s = 0; s < 4; ++s) {
    DF_CHECK(cfg.layers[s] >= 1, ConfigError, "[nn.ResNet] stage ", s + 1, " needs >= 1 block");
    auto layer = std::make_shared<Sequential>();
    for (int64_t b = 0; b < cfg.layers[s]; ++b) {
      int64_t stride = (s > 0 && b == 0) ? 2 : 1;
      layer->push_back(std::make_shared<ResNetBlock>(cfg, inplanes, planes[s], stride));
      inplanes = planes[s] * expansion;
    }
    register_module("layer" + std::to_string(s + 1), layer);
  }
  register_module("fc", std::make_shared<Linear>(512 * expansion, cfg.num_classes));
  // torchvision's init: convs kaiming_normal(fan_out, relu), norms weight 1 / bias 0, fc default.
  apply([&](Module& m) {
    if (auto* c = dynamic_cast<Conv2d*>(&m)) init::kaiming_normal_(c->param("weight"), "fan_out");
  });
  if (cfg.zero_init_residual) {
    for (int s = 1; s <= 4; ++s) {
      auto& layer = child<Sequential>("layer" + std::to_string(s));
      for (size_t b = 0; b < layer.size(); ++b) {
        Module& last = layer[b].child(cfg.bottleneck ? "bn3" : "bn2");
        if (last.has_param("weight")) init::constant_(last.param("weight"), 0.0);
      }
    }
  }
}

std::vector<Tensor> ResNet::forward_features(const Tensor& x) {
  Tensor y = relu(child("bn1").forward(child("conv1").forward(x)));
  y = max_pool2d(y, {3}, {2}, {1});
  std::vector<Tensor> out;
  for (int s = 1; s <= 4; ++s) {
    y = child("layer" + std::to_string(s)).forward(y);
    out.push_back(y);
  }
  return out;
}

Tensor ResNet::forward(const Tensor& x) {
  Tensor c5 = forward_features(x).back();
  return child("fc").forward(adaptive_avg_pool2d(c5, {1, 1}).flatten(1));
}

std::vector<int64_t> ResNet::feature_channels() const {
  return resnet_stage_channels(*this);
}

std::vector<int64_t> resnet_stage_channels(const Module& model) {
  std::vector<int64_t> out;
  for (int s = 1;; ++s) {
    const std::string name = "layer" + std::to_string(s);
    const auto& ch = model.named_children();
    auto it = std::find_if(ch.begin(), ch.end(), [&](const auto& c) { return c.first == name; });
    if (it == ch.end()) break;
    const auto& layer = dynamic_cast<const Sequential&>(*it->second);
    DF_CHECK(layer.size() > 0, ConfigError, "[nn.resnet_stage_channels] ", name, " is empty");
    const auto* block = dynamic_cast<const ResNetBlock*>(&layer[layer.size() - 1]);
    DF_CHECK(block != nullptr, ConfigError, "[nn.resnet_stage_channels] ", name,
             " does not end with a ResNetBlock");
    out.push_back(block->spec().out_channels);
  }
  return out;
}

namespace {
std::shared_ptr<ResNet> make(bool bottleneck, std::vector<int64_t> layers, int64_t classes,
                             int64_t groups = 1, int64_t width = 64) {
  ResNetConfig c;
  c.bottleneck = bottleneck;
  c.layers = std::move(layers);
  c.num_classes = classes;
  c.groups = groups;
  c.width_per_group = width;
  return std::make_shared<ResNet>(c);
}
}  // namespace

std::shared_ptr<ResNet> resnet18(int64_t n) {
  return make(false, {2, 2, 2, 2}, n);
}
std::shared_ptr<ResNet> resnet34(int64_t n) {
  return make(false, {3, 4, 6, 3}, n);
}
std::shared_ptr<ResNet> resnet50(int64_t n) {
  return make(true, {3, 4, 6, 3}, n);
}
std::shared_ptr<ResNet> resnet101(int64_t n) {
  return make(true, {3, 4, 23, 3}, n);
}
std::shared_ptr<ResNet> resnext50_32x4d(int64_t n) {
  return make(true, {3, 4, 6, 3}, n, 32, 4);
}
std::shared_ptr<ResNet> resnext101_32x8d(int64_t n) {
  return make(true, {3, 4, 23, 3}, n, 32, 8);
}

}  // namespace detforge::nn

#include "nn/static_resnet.h"

#include "autograd/elementwise.h"
#include "autograd/norm_pool.h"
#include "nn/conv.h"
#include "nn/init.h"
#include "nn/linear.h"
#include "nn/norm.h"
#include "nn/sequential.h"
#include "tensor/error.h"

namespace detforge::nn {

StaticResNet::StaticResNet(const ResNetStemSpec& stem,
                           const std::vector<std::vector<BlockSpec>>& stages, int64_t num_classes,
                           bool init_weights)
    : stem_(stem), num_classes_(num_classes), num_stages_(stages.size()) {
  DF_CHECK(stem.kind == "torchvision" || stem.kind == "ofa" || stem.kind == "small", ConfigError,
           "[nn.StaticResNet] stem kind must be torchvision, ofa or small, got ", stem.kind);
  DF_CHECK(stem.in_channels > 0 && stem.channels > 0 && stem.mid_channels > 0, ConfigError,
           "[nn.StaticResNet] stem channels must be positive");
  DF_CHECK(!stages.empty() && num_classes >= 0, ConfigError,
           "[nn.StaticResNet] needs at least one stage and num_classes >= 0");
  if (stem.kind == "torchvision") {
    register_module(
        "conv1", std::make_shared<Conv2d>(stem.in_channels, stem.channels, 7, 2, 3, 1, 1, false));
    register_module("bn1", std::make_shared<BatchNorm2d>(stem.channels));
  } else if (stem.kind == "small") {
    register_module(
        "conv1", std::make_shared<Conv2d>(stem.in_channels, stem.channels, 3, 1, 1, 1, 1, false));
    register_module("bn1", std::make_shared<BatchNorm2d>(stem.channels));
  } else {
    const int64_t m = stem.mid_channels;
    register_module("conv1", std::make_shared<Conv2d>(stem.in_channels, m, 3, 2, 1, 1, 1, false));
    register_module("bn1", std::make_shared<BatchNorm2d>(m));
    register_module("conv2", std::make_shared<Conv2d>(m, m, 3, 1, 1, 1, 1, false));
    register_module("bn2", std::make_shared<BatchNorm2d>(m));
    register_module("conv3", std::make_shared<Conv2d>(m, stem.channels, 3, 1, 1, 1, 1, false));
    register_module("bn3", std::make_shared<BatchNorm2d>(stem.channels));
  }
  ResNetConfig rc;
  int64_t c = stem.channels;
  for (size_t s = 0; s < stages.size(); ++s) {
    DF_CHECK(!stages[s].empty(), ConfigError, "[nn.StaticResNet] stage ", s + 1, " has no block");
    auto layer = std::make_shared<Sequential>();
    for (size_t b = 0; b < stages[s].size(); ++b) {
      const BlockSpec& sp = stages[s][b];
      DF_CHECK(sp.in_channels == c, ConfigError, "[nn.StaticResNet] layer", s + 1, ".", b,
               " expects ", sp.in_channels, " input channels, the previous layer gives ", c);
      layer->push_back(std::make_shared<ResNetBlock>(rc, sp));
      c = sp.out_channels;
    }
    register_module("layer" + std::to_string(s + 1), layer);
  }
  if (num_classes > 0) register_module("fc", std::make_shared<Linear>(c, num_classes));
  if (!init_weights) return;
  apply([&](Module& m) {
    if (auto* cv = dynamic_cast<Conv2d*>(&m)) init::kaiming_normal_(cv->param("weight"), "fan_out");
  });
}

Tensor StaticResNet::forward_stem(const Tensor& x) {
  Tensor y = relu(child("bn1").forward(child("conv1").forward(x)));
  if (stem_.kind == "small") return y;
  if (stem_.kind == "ofa") {
    y = add(y, relu(child("bn2").forward(child("conv2").forward(y))));
    y = relu(child("bn3").forward(child("conv3").forward(y)));
  }
  return max_pool2d(y, {3}, {2}, {1});
}

std::vector<Tensor> StaticResNet::forward_features(const Tensor& x) {
  Tensor y = forward_stem(x);
  std::vector<Tensor> out;
  out.reserve(num_stages_);
  for (size_t s = 1; s <= num_stages_; ++s) {
    y = child("layer" + std::to_string(s)).forward(y);
    out.push_back(y);
  }
  return out;
}

Tensor StaticResNet::forward(const Tensor& x) {
  Tensor c5 = forward_features(x).back();
  if (num_classes_ == 0) return c5;
  return child("fc").forward(adaptive_avg_pool2d(c5, {1, 1}).flatten(1));
}

std::vector<std::vector<BlockSpec>> StaticResNet::block_specs() const {
  std::vector<std::vector<BlockSpec>> out;
  for (size_t s = 1; s <= num_stages_; ++s) {
    const auto& layer = child<Sequential>("layer" + std::to_string(s));
    std::vector<BlockSpec> st;
    for (size_t b = 0; b < layer.size(); ++b)
      st.push_back(dynamic_cast<const ResNetBlock&>(layer[b]).spec());
    out.push_back(std::move(st));
  }
  return out;
}

std::vector<int64_t> StaticResNet::feature_channels() const {
  return resnet_stage_channels(*this);
}

}  // namespace detforge::nn

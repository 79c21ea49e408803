#include "nas/smnas_backbone.h"

#include "nn/activation.h"
#include "nn/conv.h"
#include "nn/init.h"
#include "nn/norm.h"
#include "nn/sequential.h"
#include "tensor/error.h"

namespace detforge::nas {

SmNasBackbone::SmNasBackbone(const ArchConfig& cfg, const SmNasBackboneOptions& options) {
  to_smnas_code(cfg);  // validates: basic/(x)bottleneck, base > 0, 4 stages, doubling per block
  nn::ResNetConfig rc;
  rc.bottleneck = cfg.block_type != "basic";
  if (cfg.block_type == "xbottleneck") {
    rc.groups = options.xbottleneck_groups;
    rc.width_per_group = options.xbottleneck_width_per_group;
  }
  rc.weight_standardization = options.weight_standardization;
  rc.norm_layer = options.norm_layer;
  const int64_t base = cfg.base_channels, expansion = rc.bottleneck ? 4 : 1;
  auto conv = [&](int64_t in, int64_t out) -> std::shared_ptr<nn::Module> {
    nn::Conv2dOptions o{in, out, {3}, {2}, {1}, {1}, 1, false};
    if (rc.weight_standardization) return std::make_shared<nn::WSConv2d>(o);
    return std::make_shared<nn::Conv2d>(o);
  };
  auto norm = [&](int64_t c) -> std::shared_ptr<nn::Module> {
    if (rc.norm_layer) return rc.norm_layer(c);
    return std::make_shared<nn::BatchNorm2d>(c);
  };
  auto stem = std::make_shared<nn::Sequential>();
  stem->push_back(conv(options.in_channels, base));  // paper's stage 1
  stem->push_back(norm(base));
  stem->push_back(std::make_shared<nn::ReLU>());
  stem->push_back(conv(base, base));  // first layer of the paper's stage 2
  stem->push_back(norm(base));
  stem->push_back(std::make_shared<nn::ReLU>());
  register_module("stem", stem);
  int64_t inplanes = base, planes = base;
  for (size_t s = 0; s < 4; ++s) {
    auto layer = std::make_shared<nn::Sequential>();
    const auto& st = cfg.stages[s];
    for (int64_t b = 0; b < st.depth; ++b) {
      if (st.doubling[b]) planes *= 2;
      int64_t stride = (s > 0 && b == 0) ? 2 : 1;
      DF_CHECK(!rc.bottleneck || planes * rc.width_per_group / 64 > 0, ConfigError,
               "[nas.SmNasBackbone] ", cfg.block_type, " planes ", planes,
               " give no channels per group (width_per_group ", rc.width_per_group, ")");
      layer->push_back(std::make_shared<nn::ResNetBlock>(rc, inplanes, planes, stride));
      inplanes = planes * expansion;
    }
    register_module("layer" + std::to_string(s + 1), layer);
  }
  apply([&](nn::Module& m) {
    if (auto* c = dynamic_cast<nn::Conv2d*>(&m))
      nn::init::kaiming_normal_(c->param("weight"), "fan_out");
  });
}

std::vector<Tensor> SmNasBackbone::forward_features(const Tensor& x) {
  Tensor y = child("stem").forward(x);
  std::vector<Tensor> out;
  for (int s = 1; s <= 4; ++s) {
    y = child("layer" + std::to_string(s)).forward(y);
    out.push_back(y);
  }
  return out;
}

Tensor SmNasBackbone::forward(const Tensor& x) {
  return forward_features(x).back();
}

std::shared_ptr<SmNasBackbone> smnas_backbone(const std::string& code,
                                              const SmNasBackboneOptions& options) {
  return std::make_shared<SmNasBackbone>(parse_smnas_code(code), options);
}

}  // namespace detforge::nas

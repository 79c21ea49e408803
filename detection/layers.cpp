#include "detection/layers.h"

#include <cmath>

#include "nn/activation.h"
#include "nn/conv.h"
#include "nn/init.h"
#include "nn/norm.h"
#include "tensor/error.h"

namespace detforge::detection {

std::vector<Tensor> feature_tensors(const FeatureList& features) {
  std::vector<Tensor> out;
  out.reserve(features.size());
  for (const auto& f : features) out.push_back(f.second);
  return out;
}

FeatureList select_levels(const std::vector<Tensor>& c2_to_c5, const std::vector<int64_t>& levels) {
  DF_CHECK(!levels.empty(), ConfigError, "[detection.select_levels] no levels given");
  FeatureList out;
  int64_t prev = 1;
  for (size_t i = 0; i < levels.size(); ++i) {
    int64_t l = levels[i];
    DF_CHECK(l > prev && l >= 2 && l - 2 < static_cast<int64_t>(c2_to_c5.size()), ConfigError,
             "[detection.select_levels] level ", l, " must be increasing and within C2..C",
             c2_to_c5.size() + 1);
    prev = l;
    out.emplace_back(std::to_string(i), c2_to_c5[l - 2]);
  }
  return out;
}

NormFactory make_norm_factory(const std::string& kind, int64_t gn_groups) {
  if (kind == "none") return {};
  if (kind == "bn")
    return [](int64_t c) -> std::shared_ptr<nn::Module> {
      return std::make_shared<nn::BatchNorm2d>(c);
    };
  if (kind == "gn") {
    DF_CHECK(gn_groups > 0, ConfigError, "[detection.norm] gn groups must be > 0, got ", gn_groups);
    return [gn_groups](int64_t c) -> std::shared_ptr<nn::Module> {
      DF_CHECK(c % gn_groups == 0, ConfigError, "[detection.norm] GroupNorm(", gn_groups,
               ") needs channels divisible by the groups, got ", c);
      return std::make_shared<nn::GroupNorm>(gn_groups, c);
    };
  }
  throw ConfigError(
      str_cat("[detection.norm] unknown norm '", kind, "' (expected none, bn or gn)"));
}

std::shared_ptr<nn::Sequential> conv_norm_act(int64_t in, int64_t out, int64_t k, int64_t stride,
                                              const NormFactory& norm, bool relu) {
  auto s = std::make_shared<nn::Sequential>();
  s->push_back(std::make_shared<nn::Conv2d>(in, out, k, stride, (k - 1) / 2, 1, 1, !norm));
  if (norm) s->push_back(norm(out));
  if (relu) s->push_back(std::make_shared<nn::ReLU>());
  return s;
}

void init_conv_normal(nn::Module& m, double std) {
  m.apply([std](nn::Module& mod) {
    if (auto* c = dynamic_cast<nn::Conv2d*>(&mod)) {
      nn::init::normal_(c->param("weight"), 0.0, std);
      if (c->has_param("bias")) nn::init::constant_(c->param("bias"), 0.0);
    }
  });
}

void init_kaiming_uniform_a1(nn::Module& conv) {
  const Tensor& w = conv.param("weight");
  double b = std::sqrt(3.0 / static_cast<double>(nn::init::fan_in(w)));
  nn::init::uniform_(w, -b, b);
  if (conv.has_param("bias")) nn::init::constant_(conv.param("bias"), 0.0);
}

}  // namespace detforge::detection

#include "detection/fpn.h"

#include "autograd/elementwise.h"
#include "autograd/norm_pool.h"
#include "nn/conv.h"
#include "tensor/error.h"

namespace detforge::detection {

FpnExtra parse_fpn_extra(const std::string& s) {
  if (s == "none") return FpnExtra::none;
  if (s == "maxpool") return FpnExtra::max_pool;
  if (s == "p6p7") return FpnExtra::p6p7;
  throw ConfigError(
      str_cat("[detection.FPN] unknown extra block '", s, "' (expected none, maxpool or p6p7)"));
}

LastLevelP6P7::LastLevelP6P7(int64_t in, int64_t out, std::optional<bool> use_p5)
    : use_p5_(use_p5.value_or(in == out)) {
  DF_CHECK(!use_p5_ || in == out, ConfigError, "[detection.FPN] P6 from P5 needs in_channels ", in,
           " == out_channels ", out);
  auto p6 = register_module("p6", std::make_shared<nn::Conv2d>(in, out, 3, 2, 1));
  auto p7 = register_module("p7", std::make_shared<nn::Conv2d>(out, out, 3, 2, 1));
  init_kaiming_uniform_a1(*p6);
  init_kaiming_uniform_a1(*p7);
}

void LastLevelP6P7::extend(std::vector<Tensor>& results, const Tensor& p5, const Tensor& c5) {
  Tensor p6 = child("p6").forward(use_p5_ ? p5 : c5);
  Tensor p7 = child("p7").forward(relu(p6));
  results.push_back(p6);
  results.push_back(p7);
}

FeaturePyramidNetwork::FeaturePyramidNetwork(const FpnOptions& o) : opt_(o) {
  DF_CHECK(!o.in_channels.empty(), ConfigError, "[detection.FPN] in_channels is empty");
  DF_CHECK(o.out_channels > 0, ConfigError, "[detection.FPN] out_channels must be > 0, got ",
           o.out_channels);
  auto inner = register_module("inner_blocks", std::make_shared<nn::Sequential>());
  auto layer = register_module("layer_blocks", std::make_shared<nn::Sequential>());
  for (int64_t c : o.in_channels) {
    DF_CHECK(c > 0, ConfigError, "[detection.FPN] in_channels must be > 0, got ", c);
    inner->push_back(conv_norm_act(c, o.out_channels, 1, 1, o.norm, false));
    layer->push_back(conv_norm_act(o.out_channels, o.out_channels, 3, 1, o.norm, false));
  }
  apply([](nn::Module& m) {
    if (dynamic_cast<nn::Conv2d*>(&m)) init_kaiming_uniform_a1(m);
  });
  if (o.extra == FpnExtra::p6p7) {
    int64_t in = o.p6p7_in_channels > 0 ? o.p6p7_in_channels : o.out_channels;
    bool use_p5 = o.p6_use_p5.value_or(in == o.out_channels);
    DF_CHECK(use_p5 ? in == o.out_channels : in == o.in_channels.back(), ConfigError,
             "[detection.FPN] p6p7_in_channels ", in, " must equal out_channels ", o.out_channels,
             " (P6 from P5) or the last input's channels ", o.in_channels.back(), " (P6 from C5)");
    register_module("extra_blocks", std::make_shared<LastLevelP6P7>(in, o.out_channels, use_p5));
  }
}

FeatureList FeaturePyramidNetwork::forward(const FeatureList& x) {
  const int64_t n = num_levels();
  DF_CHECK(static_cast<int64_t>(x.size()) == n, ShapeError, "[detection.FPN] expected ", n,
           " feature maps, got ", x.size());
  for (int64_t i = 0; i < n; ++i) {
    const Tensor& t = x[i].second;
    DF_CHECK(t.dim() == 4 && t.size(1) == opt_.in_channels[i], ShapeError,
             "[detection.FPN] feature '", x[i].first, "' has shape ", shape_str(t.shape()),
             ", expected [N, ", opt_.in_channels[i], ", H, W]");
  }
  auto& inner = child<nn::Sequential>("inner_blocks");
  auto& layer = child<nn::Sequential>("layer_blocks");
  std::vector<Tensor> results(n);
  Tensor last = inner[n - 1].forward(x[n - 1].second);
  results[n - 1] = layer[n - 1].forward(last);
  for (int64_t i = n - 2; i >= 0; --i) {
    Tensor lateral = inner[i].forward(x[i].second);
    Tensor top_down = upsample_nearest2d(last, {lateral.size(2), lateral.size(3)});
    last = add(lateral, top_down);
    results[i] = layer[i].forward(last);
  }
  std::vector<std::string> names;
  for (const auto& f : x) names.push_back(f.first);
  if (opt_.extra == FpnExtra::max_pool) {
    results.push_back(max_pool2d(results.back(), {1}, {2}, {0}));
    names.push_back("pool");
  } else if (opt_.extra == FpnExtra::p6p7) {
    Tensor p5 = results.back();
    child<LastLevelP6P7>("extra_blocks").extend(results, p5, x.back().second);
    names.push_back("p6");
    names.push_back("p7");
  }
  FeatureList out;
  for (size_t i = 0; i < results.size(); ++i) out.emplace_back(names[i], results[i]);
  return out;
}

}  // namespace detforge::detection

#include "detection/elastic_fpn.h"

#include <cmath>

#include "autograd/elementwise.h"
#include "autograd/norm_pool.h"
#include "nn/elastic/elastic_layers.h"
#include "tensor/error.h"

namespace detforge::detection {
namespace {

std::shared_ptr<nn::Sequential> block(int64_t in, int64_t out, int64_t k, int64_t stride,
                                      const std::string& norm, int64_t gn_groups) {
  nn::ElasticConv2dOptions o;
  o.max_in_channels = in;
  o.max_out_channels = out;
  o.kernel_sizes = {k};
  o.stride = stride;
  o.bias = norm == "none";
  auto s = std::make_shared<nn::Sequential>();
  init_kaiming_uniform_a1(*s->push_back(std::make_shared<nn::ElasticConv2d>(o)));
  if (norm == "bn") s->push_back(std::make_shared<nn::ElasticBatchNorm2d>(out));
  if (norm == "gn") s->push_back(std::make_shared<nn::ElasticGroupNorm>(gn_groups, out));
  return s;
}

// The static Conv2dNormActivation state of an elastic block for `in` input channels, under prefix.
void extract_block(const nn::Sequential& b, int64_t in, int64_t out, const std::string& prefix,
                   nn::StateDict& sd) {
  auto conv = dynamic_cast<const nn::ElasticConv2d&>(b[0]).extract(in);
  for (auto& [k, v] : conv->state_dict()) sd[prefix + "0." + k] = v;
  if (b.size() < 2) return;
  std::shared_ptr<nn::Module> norm;
  if (auto* bn = dynamic_cast<const nn::ElasticBatchNorm2d*>(&b[1])) norm = bn->extract(out);
  if (auto* gn = dynamic_cast<const nn::ElasticGroupNorm*>(&b[1])) norm = gn->extract(out);
  for (auto& [k, v] : norm->state_dict()) sd[prefix + "1." + k] = v;
}

}  // namespace

// Holder of the elastic "p6" / "p7" convs (the names of torchvision's LastLevelP6P7).
class ElasticP6P7 : public nn::Cloneable<ElasticP6P7> {
 public:
  std::string type_name() const override { return "ElasticLastLevelP6P7"; }
};

ElasticFPN::ElasticFPN(const ElasticFpnOptions& o) : opt_(o) {
  DF_CHECK(!o.in_channels.empty() && o.out_channels > 0 && !o.width_multipliers.empty(),
           ConfigError,
           "[detection.ElasticFPN] in_channels and width_multipliers must be non-empty and "
           "out_channels > 0");
  DF_CHECK(o.norm == "none" || o.norm == "bn" || o.norm == "gn", ConfigError,
           "[detection.ElasticFPN] unknown norm '", o.norm, "'");
  double max_m = 0;
  for (double m : o.width_multipliers) {
    DF_CHECK(m > 0, ConfigError, "[detection.ElasticFPN] width multipliers must be > 0, got ", m);
    max_m = std::max(max_m, m);
  }
  max_out_ = static_cast<int64_t>(std::llround(o.out_channels * max_m));
  for (double m : o.width_multipliers)
    DF_CHECK(o.norm != "gn" || width_for(m) % o.gn_groups == 0, ConfigError,
             "[detection.ElasticFPN] width ", width_for(m), " (multiplier ", m,
             ") is not divisible by gn_groups ", o.gn_groups);
  auto inner = register_module("inner_blocks", std::make_shared<nn::Sequential>());
  auto layer = register_module("layer_blocks", std::make_shared<nn::Sequential>());
  for (int64_t c : o.in_channels) {
    DF_CHECK(c > 0, ConfigError, "[detection.ElasticFPN] in_channels must be > 0, got ", c);
    inner->push_back(block(c, max_out_, 1, 1, o.norm, o.gn_groups));
    layer->push_back(block(max_out_, max_out_, 3, 1, o.norm, o.gn_groups));
  }
  if (o.extra == FpnExtra::p6p7) {
    auto extra = register_module("extra_blocks", std::make_shared<ElasticP6P7>());
    int64_t in = o.p6_from_c5 ? o.in_channels.back() : max_out_;
    for (const char* name : {"p6", "p7"}) {
      nn::ElasticConv2dOptions co;
      co.max_in_channels = std::string(name) == "p6" ? in : max_out_;
      co.max_out_channels = max_out_;
      co.kernel_sizes = {3};
      co.stride = 2;
      co.bias = true;
      init_kaiming_uniform_a1(
          *extra->register_module(name, std::make_shared<nn::ElasticConv2d>(co)));
    }
  }
  set_active_out_channels(max_out_);
}

int64_t ElasticFPN::width_for(double m) const {
  bool listed = false;
  for (double w : opt_.width_multipliers) listed = listed || std::fabs(w - m) < 1e-9;
  DF_CHECK(listed, ConfigError, "[detection.ElasticFPN] width multiplier ", m,
           " is not among the configured width_multipliers");
  return static_cast<int64_t>(std::llround(opt_.out_channels * m));
}

void ElasticFPN::set_active_width(double m) {
  set_active_out_channels(width_for(m));
}

void ElasticFPN::set_active_out_channels(int64_t c) {
  DF_CHECK(c >= 1 && c <= max_out_, ConfigError, "[detection.ElasticFPN] active out channels ", c,
           " outside 1..", max_out_);
  DF_CHECK(opt_.norm != "gn" || c % opt_.gn_groups == 0, ConfigError,
           "[detection.ElasticFPN] active out channels ", c, " not divisible by gn_groups ",
           opt_.gn_groups);
  apply([c](nn::Module& m) {
    if (auto* conv = dynamic_cast<nn::ElasticConv2d*>(&m)) conv->set_active(c, conv->max_kernel());
  });
  active_out_ = c;
}

FeatureList ElasticFPN::forward(const FeatureList& x) {
  const int64_t n = static_cast<int64_t>(opt_.in_channels.size());
  DF_CHECK(static_cast<int64_t>(x.size()) == n, ShapeError, "[detection.ElasticFPN] expected ", n,
           " feature maps, got ", x.size());
  for (int64_t i = 0; i < n; ++i) {
    const Tensor& t = x[i].second;
    DF_CHECK(t.dim() == 4 && t.size(1) >= 1 && t.size(1) <= opt_.in_channels[i], ShapeError,
             "[detection.ElasticFPN] feature '", x[i].first, "' has shape ", shape_str(t.shape()),
             ", expected [N, <= ", opt_.in_channels[i], ", H, W]");
  }
  auto& inner = child<nn::Sequential>("inner_blocks");
  auto& layer = child<nn::Sequential>("layer_blocks");
  std::vector<Tensor> results(n);
  Tensor last = inner[n - 1].forward(x[n - 1].second);
  results[n - 1] = layer[n - 1].forward(last);
  for (int64_t i = n - 2; i >= 0; --i) {
    Tensor lateral = inner[i].forward(x[i].second);
    last = add(lateral, upsample_nearest2d(last, {lateral.size(2), lateral.size(3)}));
    results[i] = layer[i].forward(last);
  }
  std::vector<std::string> names;
  for (const auto& f : x) names.push_back(f.first);
  if (opt_.extra == FpnExtra::max_pool) {
    results.push_back(max_pool2d(results.back(), {1}, {2}, {0}));
    names.push_back("pool");
  } else if (opt_.extra == FpnExtra::p6p7) {
    auto& extra = child("extra_blocks");
    Tensor p6 = extra.child("p6").forward(opt_.p6_from_c5 ? x.back().second : results.back());
    Tensor p7 = extra.child("p7").forward(relu(p6));
    results.push_back(p6);
    results.push_back(p7);
    names.push_back("p6");
    names.push_back("p7");
  }
  FeatureList out;
  for (size_t i = 0; i < results.size(); ++i) out.emplace_back(names[i], results[i]);
  return out;
}

std::shared_ptr<FeaturePyramidNetwork> ElasticFPN::extract(
    const std::vector<int64_t>& in_channels) const {
  const int64_t n = static_cast<int64_t>(opt_.in_channels.size());
  DF_CHECK(static_cast<int64_t>(in_channels.size()) == n, ConfigError,
           "[detection.ElasticFPN] extract needs ", n, " input channel counts, got ",
           in_channels.size());
  FpnOptions so;
  so.in_channels = in_channels;
  so.out_channels = active_out_;
  so.extra = opt_.extra;
  so.p6p7_in_channels = opt_.p6_from_c5 ? in_channels.back() : active_out_;
  so.norm = make_norm_factory(opt_.norm, opt_.gn_groups);
  so.p6_use_p5 = !opt_.p6_from_c5;
  auto fpn = std::make_shared<FeaturePyramidNetwork>(so);
  nn::StateDict sd;
  auto& inner = child<nn::Sequential>("inner_blocks");
  auto& layer = child<nn::Sequential>("layer_blocks");
  for (int64_t i = 0; i < n; ++i) {
    DF_CHECK(in_channels[i] >= 1 && in_channels[i] <= opt_.in_channels[i], ConfigError,
             "[detection.ElasticFPN] extract: level ", i, " has ", in_channels[i],
             " channels, max ", opt_.in_channels[i]);
    extract_block(dynamic_cast<const nn::Sequential&>(inner[i]), in_channels[i], active_out_,
                  str_cat("inner_blocks.", i, "."), sd);
    extract_block(dynamic_cast<const nn::Sequential&>(layer[i]), active_out_, active_out_,
                  str_cat("layer_blocks.", i, "."), sd);
  }
  if (opt_.extra == FpnExtra::p6p7) {
    auto& extra = child("extra_blocks");
    auto p6 = extra.child<nn::ElasticConv2d>("p6").extract(so.p6p7_in_channels);
    auto p7 = extra.child<nn::ElasticConv2d>("p7").extract(active_out_);
    for (auto& [k, v] : p6->state_dict()) sd["extra_blocks.p6." + k] = v;
    for (auto& [k, v] : p7->state_dict()) sd["extra_blocks.p7." + k] = v;
  }
  fpn->load_state_dict(sd, true);
  fpn->train(is_training());
  return fpn;
}

}  // namespace detforge::detection

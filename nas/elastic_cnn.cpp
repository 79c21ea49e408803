#include "nas/elastic_cnn.h"

#include <algorithm>
#include <cmath>

#include "autograd/elementwise.h"
#include "autograd/reduction.h"
#include "nas/config_util.h"
#include "nn/conv.h"
#include "nn/elastic/elastic_layers.h"
#include "nn/norm.h"
#include "tensor/error.h"

namespace detforge::nas {

namespace {
std::string block_name(size_t s, int64_t b, const char* what) {
  return str_cat("stage", s, "_block", b, "_", what);
}
int64_t scaled(int64_t c, double w) {
  return std::max<int64_t>(1, std::llround(c * w));
}
}  // namespace

ElasticCNNOptions elastic_cnn_options_from_json(const nlohmann::json& j, const std::string& path) {
  JsonReader r(j, path, "train-cls");
  r.allow({"type", "stem_channels", "channels", "depths", "width_mults", "kernel_sizes"});
  ElasticCNNOptions o;
  o.stem_channels = r.get_int("stem_channels", o.stem_channels, 1);
  o.channels = r.get_int_list("channels", o.channels, 1);
  o.depths = r.get_int_list("depths", o.depths, 1);
  o.width_mults = r.get_double_list("width_mults", o.width_mults);
  for (double w : o.width_mults)
    if (!(w > 0 && w <= 4)) r.fail("width_mults", "numbers in (0, 4]");
  o.kernel_sizes = r.get_int_list("kernel_sizes", o.kernel_sizes, 1);
  for (int64_t k : o.kernel_sizes)
    if (k % 2 == 0 || k > 7) r.fail("kernel_sizes", "odd kernel sizes <= 7");
  return o;
}

ElasticCNN::ElasticCNN(const ElasticCNNOptions& o, int64_t in_channels, int64_t num_classes)
    : opt_(o) {
  DF_CHECK(
      !o.channels.empty() && !o.depths.empty() && !o.width_mults.empty() && !o.kernel_sizes.empty(),
      ConfigError, "[nas.ElasticCNN] every choice list needs at least one entry");
  max_depth_ = *std::max_element(o.depths.begin(), o.depths.end());
  const double wmax = *std::max_element(o.width_mults.begin(), o.width_mults.end());
  register_module("stem",
                  std::make_shared<nn::Conv2d>(in_channels, o.stem_channels, 3, 1, 1, 1, 1, false));
  register_module("stem_bn", std::make_shared<nn::BatchNorm2d>(o.stem_channels));
  int64_t in = o.stem_channels;
  for (size_t s = 0; s < o.channels.size(); ++s) {
    const int64_t cmax = scaled(o.channels[s], wmax);
    for (int64_t b = 0; b < max_depth_; ++b) {
      nn::ElasticConv2dOptions co;
      co.max_in_channels = b == 0 ? in : cmax;
      co.max_out_channels = cmax;
      co.kernel_sizes = o.kernel_sizes;
      co.stride = (s > 0 && b == 0) ? 2 : 1;
      register_module(block_name(s, b, "conv"), std::make_shared<nn::ElasticConv2d>(co));
      register_module(block_name(s, b, "bn"), std::make_shared<nn::ElasticBatchNorm2d>(cmax));
    }
    in = cmax;
    nn::StageChoices sc;
    sc.depths = o.depths;
    sc.width_mults = o.width_mults;
    sc.kernel_sizes = o.kernel_sizes;
    space_.stages.push_back(sc);
  }
  register_module("fc", std::make_shared<nn::ElasticLinear>(in, num_classes));
  space_.block_type = "basic";
  space_.input_resolution = 28;
  set_active(space_.largest());
}

void ElasticCNN::set_active(const nn::ArchConfig& cfg) {
  space_.check(cfg, "nas.ElasticCNN");
  for (size_t s = 0; s < opt_.channels.size(); ++s) {
    const auto& st = cfg.stages[s];
    for (int64_t b = 0; b < st.depth; ++b)
      child<nn::ElasticConv2d>(block_name(s, b, "conv"))
          .set_active(scaled(opt_.channels[s], st.width_mult), st.kernel_sizes[b]);
  }
  active_ = cfg;
}

std::vector<Tensor> ElasticCNN::forward_features(const Tensor& x) {
  std::vector<Tensor> feats;
  Tensor h = relu(child("stem_bn").forward(child("stem").forward(x)));
  for (size_t s = 0; s < opt_.channels.size(); ++s) {
    for (int64_t b = 0; b < active_.stages[s].depth; ++b) {
      Tensor y =
          relu(child(block_name(s, b, "bn")).forward(child(block_name(s, b, "conv")).forward(h)));
      h = b == 0 ? y : add(h, y);
    }
    feats.push_back(h);
  }
  return feats;
}

Tensor ElasticCNN::forward(const Tensor& x) {
  Tensor h = forward_features(x).back();
  return child("fc").forward(mean(h, {2, 3}));
}

std::shared_ptr<nn::Module> ElasticCNN::extract_subnet(const nn::ArchConfig& cfg) const {
  auto c = clone_as<ElasticCNN>();
  c->set_active(cfg);
  c->space_ = nn::SearchSpace();
  c->space_.block_type = space_.block_type;
  c->space_.input_resolution = space_.input_resolution;
  for (size_t s = 0; s < cfg.stages.size(); ++s) {
    nn::StageChoices sc;
    sc.depths = {cfg.stages[s].depth};
    sc.width_mults = {cfg.stages[s].width_mult};
    sc.kernel_sizes = cfg.stages[s].kernel_sizes;
    std::sort(sc.kernel_sizes.begin(), sc.kernel_sizes.end());
    sc.kernel_sizes.erase(std::unique(sc.kernel_sizes.begin(), sc.kernel_sizes.end()),
                          sc.kernel_sizes.end());
    c->space_.stages.push_back(sc);
  }
  return c;
}

}  // namespace detforge::nas

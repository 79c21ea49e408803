#include "detection/module_config.h"

#include <cmath>

#include "nn/json_reader.h"
#include "tensor/error.h"

namespace detforge::detection {
namespace {
constexpr const char* kWho = "detection.config";
}

NeckConfig parse_neck(const nlohmann::json& j, const std::string& path) {
  NeckConfig c;
  if (j.is_string()) {
    DF_CHECK(j.get<std::string>() == "none", ConfigError, "[", kWho, "] ", path,
             ": expected \"none\" or an object, got ", j.dump());
    return c;
  }
  nn::JsonReader r(j, path, kWho);
  c.type = r.get_string("type", "none", {"none", "fpn", "elastic_fpn"});
  if (c.type == "none") {
    r.allow({"type"});
    return c;
  }
  if (c.type == "elastic_fpn") {
    r.allow({"type", "in_levels", "out_channels", "extra", "p6_from", "norm", "gn_groups",
             "width_multipliers"});
    c.width_multipliers = r.get_double_list("width_multipliers", c.width_multipliers);
    for (double m : c.width_multipliers)
      if (m <= 0) r.fail("width_multipliers", "positive numbers");
  } else {
    r.allow({"type", "in_levels", "out_channels", "extra", "p6_from", "norm", "gn_groups"});
  }
  c.in_levels = r.get_int_list("in_levels", c.in_levels, 2);
  if (c.in_levels.empty()) r.fail("in_levels", "a non-empty list of levels in 2..5");
  for (size_t i = 0; i < c.in_levels.size(); ++i)
    if (c.in_levels[i] > 5 || (i > 0 && c.in_levels[i] <= c.in_levels[i - 1]))
      r.fail("in_levels", "increasing levels in 2..5");
  c.out_channels = r.get_int("out_channels", c.out_channels, 1);
  c.extra = parse_fpn_extra(r.get_string("extra", "none", {"none", "maxpool", "p6p7"}));
  std::string from = r.get_string("p6_from", "p5", {"p5", "c5"});
  if (r.has("p6_from") && c.extra != FpnExtra::p6p7) r.fail("p6_from", "no p6_from without p6p7");
  c.p6_from_c5 = from == "c5";
  c.norm = r.get_string("norm", "none", {"none", "bn", "gn"});
  c.gn_groups = r.get_int("gn_groups", c.gn_groups, 1);
  if (c.norm == "gn")
    for (double m : c.type == "fpn" ? std::vector<double>{1.0} : c.width_multipliers) {
      int64_t w = static_cast<int64_t>(std::llround(c.out_channels * m));
      if (w % c.gn_groups != 0) r.fail("gn_groups", str_cat("a divisor of the FPN width ", w));
    }
  return c;
}

HeadConfig parse_head(const nlohmann::json& j, const std::string& path) {
  HeadConfig c;
  nn::JsonReader r(j, path, kWho);
  if (!r.has("type")) r.fail("type", "one of rpn, retinanet, centernet");
  c.type = r.get_string("type", "", {"rpn", "retinanet", "centernet"});
  if (c.type == "rpn") {
    r.allow({"type", "num_anchors", "conv_depth"});
    c.num_anchors = r.get_int("num_anchors", 3, 1);
    c.conv_depth = r.get_int("conv_depth", 1, 1);
  } else if (c.type == "retinanet") {
    r.allow({"type", "num_anchors", "num_classes", "prior_probability", "norm", "gn_groups"});
    c.num_anchors = r.get_int("num_anchors", 9, 1);
    c.num_classes = r.get_int("num_classes", c.num_classes, 1);
    c.prior_probability = r.get_double("prior_probability", 0.01, 0.0);
    if (c.prior_probability <= 0 || c.prior_probability >= 1)
      r.fail("prior_probability", "a number in (0, 1)");
    c.norm = r.get_string("norm", "none", {"none", "gn"});
    c.gn_groups = r.get_int("gn_groups", c.gn_groups, 1);
  } else {
    r.allow({"type", "num_classes", "deconv_channels", "head_conv", "heatmap_bias"});
    c.num_classes = r.get_int("num_classes", c.num_classes, 1);
    // An empty list is allowed here: no up-convolution (the input is already at stride 4).
    const auto* d = j.contains("deconv_channels") ? &j.at("deconv_channels") : nullptr;
    if (d && d->is_array() && d->empty())
      c.deconv_channels.clear();
    else
      c.deconv_channels = r.get_int_list("deconv_channels", c.deconv_channels, 1);
    c.head_conv = r.get_int("head_conv", c.head_conv, 1);
    c.heatmap_bias = r.get_double("heatmap_bias", c.heatmap_bias);
  }
  return c;
}

BoxHeadConfig parse_box_head(const nlohmann::json& j, const std::string& path) {
  BoxHeadConfig c;
  nn::JsonReader r(j, path, kWho);
  r.allow({"representation_size", "num_classes", "roi_size"});
  c.representation_size = r.get_int("representation_size", c.representation_size, 1);
  c.num_classes = r.get_int("num_classes", c.num_classes, 1);
  c.roi_size = r.get_int("roi_size", c.roi_size, 1);
  return c;
}

std::shared_ptr<FeaturePyramidNetwork> build_neck(const NeckConfig& cfg,
                                                  const std::vector<int64_t>& backbone_channels) {
  if (cfg.type != "fpn") return nullptr;
  FpnOptions o;
  for (int64_t l : cfg.in_levels) {
    DF_CHECK(l >= 2 && l - 2 < static_cast<int64_t>(backbone_channels.size()), ConfigError, "[",
             kWho, "] neck.in_levels: level ", l, " is not among the backbone's C2..C",
             backbone_channels.size() + 1);
    o.in_channels.push_back(backbone_channels[l - 2]);
  }
  o.out_channels = cfg.out_channels;
  o.extra = cfg.extra;
  o.p6p7_in_channels = cfg.p6_from_c5 ? o.in_channels.back() : cfg.out_channels;
  o.p6_use_p5 = !cfg.p6_from_c5;
  o.norm = make_norm_factory(cfg.norm, cfg.gn_groups);
  return std::make_shared<FeaturePyramidNetwork>(o);
}

std::shared_ptr<ElasticFPN> build_elastic_neck(const NeckConfig& cfg,
                                               const std::vector<int64_t>& backbone_channels) {
  if (cfg.type != "elastic_fpn") return nullptr;
  ElasticFpnOptions o;
  for (int64_t l : cfg.in_levels) {
    DF_CHECK(l >= 2 && l - 2 < static_cast<int64_t>(backbone_channels.size()), ConfigError, "[",
             kWho, "] neck.in_levels: level ", l, " is not among the backbone's C2..C",
             backbone_channels.size() + 1);
    o.in_channels.push_back(backbone_channels[l - 2]);
  }
  o.out_channels = cfg.out_channels;
  o.width_multipliers = cfg.width_multipliers;
  o.extra = cfg.extra;
  o.p6_from_c5 = cfg.p6_from_c5;
  o.norm = cfg.norm;
  o.gn_groups = cfg.gn_groups;
  return std::make_shared<ElasticFPN>(o);
}

std::shared_ptr<RPNHead> build_rpn_head(const HeadConfig& cfg, int64_t in_channels) {
  return std::make_shared<RPNHead>(in_channels, cfg.num_anchors, cfg.conv_depth);
}

std::shared_ptr<RetinaNetHead> build_retinanet_head(const HeadConfig& cfg, int64_t in_channels) {
  return std::make_shared<RetinaNetHead>(in_channels, cfg.num_anchors, cfg.num_classes,
                                         make_norm_factory(cfg.norm, cfg.gn_groups),
                                         cfg.prior_probability);
}

std::shared_ptr<CenterNetHead> build_centernet_head(const HeadConfig& cfg, int64_t in_channels) {
  CenterNetHeadOptions o;
  o.in_channels = in_channels;
  o.num_classes = cfg.num_classes;
  o.deconv_channels = cfg.deconv_channels;
  o.head_conv = cfg.head_conv;
  o.heatmap_bias = cfg.heatmap_bias;
  return std::make_shared<CenterNetHead>(o);
}

std::shared_ptr<TwoMLPHead> build_box_head(const BoxHeadConfig& cfg, int64_t in_channels) {
  return std::make_shared<TwoMLPHead>(in_channels * cfg.roi_size * cfg.roi_size,
                                      cfg.representation_size);
}

std::shared_ptr<FastRCNNPredictor> build_box_predictor(const BoxHeadConfig& cfg) {
  return std::make_shared<FastRCNNPredictor>(cfg.representation_size, cfg.num_classes);
}

}  // namespace detforge::detection

#include "nas/etp_detector.h"

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "autograd/grad_mode.h"
#include "autograd/indexing.h"
#include "detection/layers.h"
#include "detection/module_config.h"
#include "detection/static_resnet_backbone.h"
#include "nn/checkpoint.h"
#include "nn/elastic/elastic_layers.h"
#include "nn/json_reader.h"
#include "nn/serialization.h"
#include "tensor/error.h"

using nlohmann::json;

namespace detforge::nas {
namespace {

constexpr const char* kWho = "detector.etp_faster_rcnn";
constexpr const char* kNet = "nas.EtpFasterRCNN";

using detection::Backbone;
using detection::ModuleBackbone;

detection::NeckConfig static_neck(detection::NeckConfig n) {
  double max_m = 0;
  for (double m : n.width_multipliers) max_m = std::max(max_m, m);
  n.type = "fpn";
  n.out_channels = static_cast<int64_t>(std::llround(n.out_channels * max_m));
  return n;
}

std::shared_ptr<Backbone> make_body(const nn::ElasticResNetOptions& o) {
  auto body = std::make_shared<nn::ElasticResNet>(o);
  std::vector<int64_t> ch;
  for (size_t s = 0; s < o.stages.size(); ++s) {
    double max_w = 1.0;
    if (!o.stages[s].width_mults.empty())
      max_w = *std::max_element(o.stages[s].width_mults.begin(), o.stages[s].width_mults.end());
    ch.push_back(body->stage_out_channels(s, max_w));
  }
  return std::make_shared<ModuleBackbone<nn::ElasticResNet>>(body, ch);
}

std::shared_ptr<nn::ElasticConv2d> elastic_copy(const nn::Conv2d& c, int64_t in, int64_t out,
                                                int64_t k) {
  nn::ElasticConv2dOptions o;
  o.max_in_channels = in;
  o.max_out_channels = out;
  o.kernel_sizes = {k};
  o.bias = c.has_param("bias");
  auto e = std::make_shared<nn::ElasticConv2d>(o);
  e->load_state_dict(c.state_dict(), true);
  return e;
}

// The leading slice of t with shape `shape` (same rank), copied.
Tensor prefix(const Tensor& t, const Shape& shape, const std::string& key) {
  DF_CHECK(t.dim() == static_cast<int64_t>(shape.size()), ShapeError, "[", kNet, "] extract: '",
           key, "' has shape ", shape_str(t.shape()), ", the subnet wants ", shape_str(shape));
  Tensor v = t;
  for (int64_t d = 0; d < t.dim(); ++d) {
    DF_CHECK(shape[d] <= t.size(d), ShapeError, "[", kNet, "] extract: '", key, "' has shape ",
             shape_str(t.shape()), ", the subnet wants ", shape_str(shape));
    v = v.narrow(d, 0, shape[d]);
  }
  return v.contiguous().clone();
}

std::vector<std::vector<int64_t>> get_depths(const nn::JsonReader& r, const json& j,
                                             std::vector<std::vector<int64_t>> def) {
  if (!j.contains("depths")) return def;
  const json& v = j.at("depths");
  const char* what = "4 non-empty lists of block counts >= 1 (one per stage)";
  if (!v.is_array() || v.size() != 4) r.fail("depths", what);
  std::vector<std::vector<int64_t>> out;
  for (const auto& s : v) {
    if (!s.is_array() || s.empty()) r.fail("depths", what);
    out.emplace_back();
    for (const auto& d : s) {
      if (!d.is_number_integer() || d.get<int64_t>() < 1) r.fail("depths", what);
      out.back().push_back(d.get<int64_t>());
    }
  }
  return out;
}

nn::ElasticResNetOptions parse_backbone(const json& model, const std::string& path) {
  nn::JsonReader mr(model, path, kWho);
  if (!mr.has("backbone")) mr.fail("backbone", "an object {\"type\": \"elastic_resnet\", ...}");
  const json j = mr.get_object("backbone");
  nn::JsonReader r(j, path + ".backbone", kWho);
  r.allow(
      {"type", "block", "stem", "stem_channels", "in_channels", "planes", "depths", "width_mults"});
  r.get_string("type", "elastic_resnet", {"elastic_resnet"});
  const std::string block = r.get_string("block", "bottleneck", {"basic", "bottleneck"});
  nn::ElasticResNetOptions o = nn::joint_detnas_resnet_options(block == "bottleneck");
  o.stem = r.get_string("stem", o.stem, {"torchvision", "small"});
  o.stem_channels = r.get_int("stem_channels", o.stem_channels, 1);
  o.in_channels = r.get_int("in_channels", o.in_channels, 1);
  o.planes = r.get_int_list("planes", o.planes, 1);
  if (o.planes.size() != 4) r.fail("planes", "4 integers >= 1 (one per stage)");
  std::vector<std::vector<int64_t>> def;
  for (const auto& s : o.stages) def.push_back(s.depths);
  const auto depths = get_depths(r, j, def);
  const auto widths = r.get_double_list("width_mults", o.stages[0].width_mults);
  if (widths.empty()) r.fail("width_mults", "a non-empty list of positive numbers");
  for (double w : widths)
    if (w <= 0) r.fail("width_mults", "a non-empty list of positive numbers");
  for (size_t s = 0; s < 4; ++s) {
    o.stages[s].depths = depths[s];
    o.stages[s].width_mults = widths;
  }
  o.num_classes = 0;
  return o;
}

}  // namespace

EtpFasterRCNN::EtpFasterRCNN(const nn::ElasticResNetOptions& bopt,
                             const detection::NeckConfig& neck, const detection::RpnConfig& rpn,
                             const detection::RoIHeadsConfig& roi, int64_t num_classes, json model)
    : nn::Cloneable<EtpFasterRCNN, detection::FasterRCNN>(make_body(bopt), static_neck(neck), rpn,
                                                          roi, num_classes),
      model_(std::move(model)),
      elastic_neck_(neck) {
  DF_CHECK(neck.type == "elastic_fpn", ConfigError, "[", kNet, "] the neck must be elastic_fpn");
  Backbone& b = backbone();
  b.replace_module("fpn", detection::build_elastic_neck(neck, b.feature_channels()));
  const int64_t cmax = fpn_channels_;
  DF_CHECK(fpn().max_out_channels() == cmax, ConfigError, "[", kNet, "] FPN width mismatch");
  // RPN head: elastic convs (C in, C out for the shared convs; anchors out whole).
  auto& head = this->rpn().child<detection::RPNHead>("head");
  auto& convs = head.child<nn::Sequential>("conv");
  for (size_t i = 0; i < convs.size(); ++i) {
    auto& block = dynamic_cast<nn::Sequential&>(convs[i]);
    const auto& c = block.child<nn::Conv2d>("0");
    block.replace_module("0", elastic_copy(c, cmax, cmax, 3));
  }
  const int64_t a = head.num_anchors();
  head.replace_module("cls_logits", elastic_copy(head.child<nn::Conv2d>("cls_logits"), cmax, a, 1));
  head.replace_module("bbox_pred",
                      elastic_copy(head.child<nn::Conv2d>("bbox_pred"), cmax, 4 * a, 1));
  // Box head fc6: input prefix C * roi * roi.
  auto& box_head = roi_heads().child<detection::TwoMLPHead>("box_head");
  const auto& fc6 = box_head.child<nn::Linear>("fc6");
  auto efc6 = std::make_shared<nn::ElasticLinear>(fc6.in_features(), roi.representation_size,
                                                  fc6.has_param("bias"));
  efc6->load_state_dict(fc6.state_dict(), true);
  box_head.replace_module("fc6", efc6);

  space_ = body().space();
  nn::StageChoices f;
  f.depths = {1};
  f.width_mults = neck.width_multipliers;
  space_.stages.push_back(f);
  set_active(space_.largest());
}

nn::ElasticResNet& EtpFasterRCNN::body() {
  return backbone().child<nn::ElasticResNet>("body");
}

detection::ElasticFPN& EtpFasterRCNN::fpn() {
  return backbone().child<detection::ElasticFPN>("fpn");
}

int64_t EtpFasterRCNN::fpn_width_channels(double m) const {
  return child<detection::Backbone>("backbone").child<detection::ElasticFPN>("fpn").width_for(m);
}

void EtpFasterRCNN::set_active(const nn::ArchConfig& arch) {
  space_.check(arch, kNet);
  nn::ArchConfig b = arch;
  b.stages.pop_back();
  body().set_active(b);
  fpn().set_active_width(arch.stages.back().width_mult);
  const int64_t c = fpn().active_out_channels();
  auto& head = this->rpn().child<detection::RPNHead>("head");
  auto& convs = head.child<nn::Sequential>("conv");
  for (size_t i = 0; i < convs.size(); ++i)
    dynamic_cast<nn::Sequential&>(convs[i]).child<nn::ElasticConv2d>("0").set_active(c, 3);
  active_ = arch;
}

detection::FeatureList EtpFasterRCNN::extract_features(const Tensor& images) {
  std::vector<Tensor> c = backbone().forward_features(images);
  return fpn().forward(detection::select_levels(c, neck_.in_levels));
}

detection::FeatureList EtpFasterRCNN::rpn_input(const detection::FeatureList& f) const {
  detection::FeatureList out;
  for (const auto& [n, t] : f) {
    const int64_t missing = fpn_channels_ - t.size(1);
    if (missing == 0) {
      out.emplace_back(n, t);
      continue;
    }
    Tensor z = Tensor::zeros({t.size(0), missing, t.size(2), t.size(3)}, t.dtype(), t.device());
    out.emplace_back(n, cat({t, z}, 1));
  }
  return out;
}

detection::LossMap EtpFasterRCNN::forward_train(const Tensor& images,
                                                const detection::ImageSizes& sizes,
                                                const std::vector<data::DetTarget>& targets) {
  DF_CHECK(is_training(), ConfigError, "[", kNet, "] forward_train needs train mode");
  DF_CHECK(images.dim() == 4 && images.size(0) == static_cast<int64_t>(targets.size()) &&
               sizes.size() == targets.size(),
           ShapeError, "[", kNet, "] images ", shape_str(images.shape()), " with ", sizes.size(),
           " sizes and ", targets.size(), " targets");
  detection::FeatureList f = extract_features(images);
  detection::RpnOutput r =
      rpn().forward(rpn_input(f), {images.size(2), images.size(3)}, sizes, &targets);
  detection::LossMap losses = roi_heads().forward_train(f, r.proposals, sizes, targets);
  for (auto& l : r.losses) losses.push_back(l);
  return losses;
}

std::vector<detection::Detections> EtpFasterRCNN::forward_eval(const Tensor& images,
                                                               const detection::ImageSizes& sizes) {
  DF_CHECK(!is_training(), ConfigError, "[", kNet, "] forward_eval needs eval mode");
  DF_CHECK(images.dim() == 4 && images.size(0) == static_cast<int64_t>(sizes.size()), ShapeError,
           "[", kNet, "] images ", shape_str(images.shape()), " with ", sizes.size(), " sizes");
  NoGradGuard ng;
  detection::FeatureList f = extract_features(images);
  detection::RpnOutput r = rpn().forward(rpn_input(f), {images.size(2), images.size(3)}, sizes);
  return roi_heads().forward_eval(f, r.proposals, sizes, postprocess);
}

json EtpFasterRCNN::static_model_json(const nn::ArchConfig& arch) const {
  space_.check(arch, kNet);
  nn::ArchConfig b = arch;
  b.stages.pop_back();
  const auto& body = child<detection::Backbone>("backbone").child<nn::ElasticResNet>("body");
  json m = model_;
  m["type"] = "faster_rcnn";
  m["backbone"] = detection::static_resnet_backbone_json(body.stem_spec(), body.block_specs(b));
  json neck = model_.contains("neck") ? model_.at("neck") : json::object();
  neck["type"] = "fpn";
  neck.erase("width_multipliers");
  if (!neck.contains("extra")) neck["extra"] = "maxpool";
  neck["out_channels"] = fpn_width_channels(arch.stages.back().width_mult);
  m["neck"] = neck;
  return m;
}

std::shared_ptr<detection::FasterRCNN> EtpFasterRCNN::extract(const nn::ArchConfig& arch) {
  const json mj = static_model_json(arch);
  auto det =
      std::dynamic_pointer_cast<detection::FasterRCNN>(detection::build_detector(mj, "model"));
  DF_CHECK(det != nullptr, ConfigError, "[", kNet, "] extract: not a FasterRCNN");
  const nn::ArchConfig prev = active_;
  set_active(arch);  // not needed for slicing, but keeps the BN views consistent
  const nn::StateDict sup = state_dict();
  nn::StateDict out;
  for (const auto& [k, v] : det->state_dict()) {
    auto it = sup.find(k);
    DF_CHECK(it != sup.end(), ConfigError, "[", kNet, "] extract: the supernet has no '", k, "'");
    out[k] = prefix(it->second, v.shape(), k);
  }
  set_active(prev);
  det->load_state_dict(out, true);
  det->to(sup.begin()->second.device());
  det->train(is_training());
  det->postprocess = postprocess;
  return det;
}

json etp_arch_to_json(const nn::ArchConfig& arch) {
  DF_CHECK(arch.stages.size() == 5, ConfigError, "[", kNet, "] an ETP arch has 5 stages, got ",
           arch.stages.size());
  nn::ArchConfig b = arch;
  b.stages.pop_back();
  return {{"backbone", nn::arch_config_to_json(b)}, {"fpn_width", arch.stages.back().width_mult}};
}

nn::ArchConfig etp_arch_from_json(const json& j, const std::string& path) {
  nn::JsonReader r(j, path, kNet);
  if (r.has("stages")) return nn::arch_config_from_json(j);
  r.allow({"backbone", "fpn_width"});
  if (!r.has("backbone")) r.fail("backbone", "an ArchConfig object with 4 stages");
  if (!r.has("fpn_width")) r.fail("fpn_width", "the FPN width multiplier");
  nn::ArchConfig a;
  try {
    a = nn::arch_config_from_json(r.get_object("backbone"));
  } catch (const ConfigError& e) {
    throw ConfigError(str_cat("[", kNet, "] ", r.key_path("backbone"), ": ", e.what()));
  }
  if (a.stages.size() != 4) r.fail("backbone", "4 stages");
  nn::StageConfig f;
  f.depth = 1;
  f.width_mult = r.get_double("fpn_width", 1.0, 0);
  a.stages.push_back(f);
  return a;
}

nn::ArchConfig parse_etp_arch_arg(const std::string& arg, const EtpFasterRCNN& det) {
  if (arg == "largest") return det.largest();
  if (arg == "smallest") return det.smallest();
  json j;
  const bool inline_json = !arg.empty() && arg.front() == '{';
  if (inline_json) {
    try {
      j = json::parse(arg);
    } catch (const json::exception& e) {
      throw ConfigError(str_cat("[etp] --arch: not valid JSON (", e.what(), ")"));
    }
  } else {
    DF_CHECK(std::filesystem::exists(arg), ConfigError,
             "[etp] --arch: expected largest, smallest, a JSON object or a JSON file, got '", arg,
             "'");
    j = nn::read_json_file(arg, "etp");
  }
  nn::ArchConfig a = etp_arch_from_json(j, "arch");
  // Fill the fields the space copies into sampled configs, so equality with samples holds.
  a.block_type = det.space().block_type;
  a.input_resolution = det.space().input_resolution;
  det.space().check(a, kNet);
  return a;
}

std::shared_ptr<detection::Detector> build_etp_faster_rcnn(const json& model,
                                                           const std::string& path) {
  nn::JsonReader r(model, path, kWho);
  r.allow({"type", "backbone", "neck", "rpn", "roi_heads", "num_classes", "postprocess"});
  if (!r.has("num_classes")) r.fail("num_classes", "an integer >= 1 (foreground classes)");
  const int64_t num_classes = r.get_int("num_classes", 0, 1);
  const nn::ElasticResNetOptions bopt = parse_backbone(model, path);
  json nj = {{"type", "elastic_fpn"}, {"extra", "maxpool"}};
  if (model.contains("neck")) {
    nj = model.at("neck");
    if (nj.is_object() && !nj.contains("type")) nj["type"] = "elastic_fpn";
    if (nj.is_object() && !nj.contains("extra")) nj["extra"] = "maxpool";
  }
  const bool elastic = nj.is_object() && nj.at("type").is_string() &&
                       nj.at("type").get<std::string>() == "elastic_fpn";
  const detection::NeckConfig neck =
      elastic ? detection::parse_neck(nj, path + ".neck") : detection::NeckConfig{};
  if (neck.type != "elastic_fpn")
    throw ConfigError(str_cat("[", kWho, "] ", path, ".neck.type: expected \"elastic_fpn\", got ",
                              nj.is_object() ? nj.at("type").dump() : nj.dump()));
  const detection::RpnConfig rpn = detection::parse_rpn_config(model, path);
  nn::JsonReader rr(r.get_object("roi_heads"), path + ".roi_heads", kWho);
  rr.allow({"roi_size", "sampling_ratio", "representation_size", "fg_iou_thresh", "bg_iou_thresh",
            "batch_size_per_image", "positive_fraction", "bbox_reg_weights", "smooth_l1_beta",
            "min_size", "add_gt_as_proposals"});
  const detection::RoIHeadsConfig roi = detection::parse_roi_heads_config(rr);
  auto det = std::make_shared<EtpFasterRCNN>(bopt, neck, rpn, roi, num_classes, model);
  det->postprocess = detection::parse_postprocess(model, path);
  return det;
}

DF_REGISTER_DETECTOR("etp_faster_rcnn", build_etp_faster_rcnn);

}  // namespace detforge::nas

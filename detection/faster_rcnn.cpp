#include "detection/faster_rcnn.h"

#include "autograd/grad_mode.h"
#include "kd/taps.h"
#include "tensor/error.h"

namespace detforge::detection {
namespace {

const char* kWho = "detector.faster_rcnn";

// [[32], [64], ...] or [32, 64, ...] (one value per level).
std::vector<std::vector<double>> get_nested(const nn::JsonReader& r, const nlohmann::json& j,
                                            const std::string& key,
                                            std::vector<std::vector<double>> def) {
  if (!j.contains(key)) return def;
  const auto& v = j.at(key);
  const char* what = "a non-empty list of positive numbers or of such lists (one per level)";
  if (!v.is_array() || v.empty()) r.fail(key, what);
  std::vector<std::vector<double>> out;
  for (const auto& e : v) {
    if (e.is_number()) {
      if (e.get<double>() <= 0) r.fail(key, what);
      out.push_back({e.get<double>()});
    } else if (e.is_array() && !e.empty()) {
      std::vector<double> level;
      for (const auto& x : e) {
        if (!x.is_number() || x.get<double>() <= 0) r.fail(key, what);
        level.push_back(x.get<double>());
      }
      out.push_back(level);
    } else {
      r.fail(key, what);
    }
  }
  return out;
}

// The matcher + balanced-sampler keys the RPN and the RoI heads share (same names and rules).
template <typename Config>
void parse_matcher_sampler(const nn::JsonReader& r, Config& c) {
  c.fg_iou_thresh = r.get_double("fg_iou_thresh", c.fg_iou_thresh, 0);
  c.bg_iou_thresh = r.get_double("bg_iou_thresh", c.bg_iou_thresh, 0);
  if (c.bg_iou_thresh > c.fg_iou_thresh)
    r.fail("bg_iou_thresh", str_cat("a number <= fg_iou_thresh (", c.fg_iou_thresh, ")"));
  c.batch_size_per_image = r.get_int("batch_size_per_image", c.batch_size_per_image, 1);
  c.positive_fraction = r.get_double("positive_fraction", c.positive_fraction, 0);
  if (c.positive_fraction > 1) r.fail("positive_fraction", "a number in [0, 1]");
}

}  // namespace

NeckConfig parse_two_stage_neck(const nlohmann::json& model, const std::string& path) {
  nlohmann::json neck = {{"type", "fpn"}, {"extra", "maxpool"}};
  if (model.contains("neck")) {
    neck = model.at("neck");
    // torchvision's BackboneWithFPN always adds LastLevelMaxPool: the default extra here.
    if (neck.is_object() && !neck.contains("extra")) neck["extra"] = "maxpool";
  }
  NeckConfig cfg = parse_neck(neck, path + ".neck");
  DF_CHECK(cfg.type == "fpn", ConfigError, "[", kWho, "] ", path,
           ".neck.type: expected \"fpn\", got \"", cfg.type, "\"");
  return cfg;
}

RpnConfig parse_rpn_config(const nlohmann::json& model, const std::string& path) {
  RpnConfig c;
  nlohmann::json j = model.contains("rpn") ? model.at("rpn") : nlohmann::json::object();
  nn::JsonReader r(j, path + ".rpn", kWho);
  r.allow({"anchor_sizes", "aspect_ratios", "pre_nms_top_n_train", "pre_nms_top_n_test",
           "post_nms_top_n_train", "post_nms_top_n_test", "nms_thresh", "fg_iou_thresh",
           "bg_iou_thresh", "batch_size_per_image", "positive_fraction", "score_thresh", "min_size",
           "smooth_l1_beta", "conv_depth"});
  c.anchor_sizes = get_nested(r, j, "anchor_sizes", c.anchor_sizes);
  c.aspect_ratios = get_nested(r, j, "aspect_ratios", c.aspect_ratios);
  // A flat ratio list is one list for every level (torchvision's repetition).
  if (j.contains("aspect_ratios") && j.at("aspect_ratios").at(0).is_number()) {
    std::vector<double> flat;
    for (const auto& v : c.aspect_ratios) flat.push_back(v[0]);
    c.aspect_ratios = {flat};
  }
  if (c.aspect_ratios.size() != 1 && c.aspect_ratios.size() != c.anchor_sizes.size())
    r.fail("aspect_ratios", str_cat("one list or ", c.anchor_sizes.size(), " (one per level)"));
  c.pre_nms_top_n_train = r.get_int("pre_nms_top_n_train", c.pre_nms_top_n_train, 1);
  c.pre_nms_top_n_test = r.get_int("pre_nms_top_n_test", c.pre_nms_top_n_test, 1);
  c.post_nms_top_n_train = r.get_int("post_nms_top_n_train", c.post_nms_top_n_train, 1);
  c.post_nms_top_n_test = r.get_int("post_nms_top_n_test", c.post_nms_top_n_test, 1);
  c.nms_thresh = r.get_double("nms_thresh", c.nms_thresh, 0);
  parse_matcher_sampler(r, c);
  c.score_thresh = r.get_double("score_thresh", c.score_thresh);
  c.min_size = r.get_double("min_size", c.min_size, 0);
  c.smooth_l1_beta = r.get_double("smooth_l1_beta", c.smooth_l1_beta, 0);
  c.conv_depth = r.get_int("conv_depth", c.conv_depth, 1);
  return c;
}

RoIHeadsConfig parse_roi_heads_config(const nn::JsonReader& r) {
  RoIHeadsConfig c;
  c.roi_size = r.get_int("roi_size", c.roi_size, 1);
  c.sampling_ratio = r.get_int("sampling_ratio", c.sampling_ratio, 0);
  c.representation_size = r.get_int("representation_size", c.representation_size, 1);
  parse_matcher_sampler(r, c);
  auto w =
      r.get_double_list("bbox_reg_weights", {c.bbox_reg_weights.begin(), c.bbox_reg_weights.end()});
  if (w.size() != 4) r.fail("bbox_reg_weights", "4 numbers");
  c.bbox_reg_weights = {w[0], w[1], w[2], w[3]};
  c.smooth_l1_beta = r.get_double("smooth_l1_beta", c.smooth_l1_beta, 0);
  c.min_size = r.get_double("min_size", c.min_size, 0);
  c.add_gt_as_proposals = r.get_bool("add_gt_as_proposals", c.add_gt_as_proposals);
  return c;
}

PostprocessConfig parse_postprocess(const nlohmann::json& model, const std::string& path) {
  PostprocessConfig p;
  nlohmann::json j =
      model.contains("postprocess") ? model.at("postprocess") : nlohmann::json::object();
  nn::JsonReader r(j, path + ".postprocess", kWho);
  r.allow({"score_thresh", "nms_thresh", "max_detections"});
  p.score_thresh = r.get_double("score_thresh", p.score_thresh);
  p.nms_thresh = r.get_double("nms_thresh", p.nms_thresh, 0);
  p.max_detections = r.get_int("max_detections", p.max_detections, 1);
  return p;
}

TwoStageDetector::TwoStageDetector(std::shared_ptr<Backbone> backbone, const NeckConfig& neck,
                                   const RpnConfig& rpn, int64_t num_classes)
    : neck_(neck), num_classes_(num_classes), fpn_channels_(neck.out_channels) {
  DF_CHECK(backbone, ConfigError, "[", kWho, "] no backbone");
  DF_CHECK(num_classes >= 1, ConfigError, "[", kWho, "] num_classes ", num_classes,
           " must be >= 1 (foreground classes)");
  DF_CHECK(neck.type == "fpn", ConfigError, "[", kWho, "] the neck must be an FPN");
  auto fpn = build_neck(neck, backbone->feature_channels());
  backbone->register_module("fpn", fpn);
  register_module("backbone", backbone);
  const int64_t levels =
      static_cast<int64_t>(neck.in_levels.size()) + (neck.extra == FpnExtra::none   ? 0
                                                     : neck.extra == FpnExtra::p6p7 ? 2
                                                                                    : 1);
  DF_CHECK(static_cast<int64_t>(rpn.anchor_sizes.size()) == levels, ConfigError, "[detector] ",
           "] rpn.anchor_sizes has ", rpn.anchor_sizes.size(), " levels but the FPN yields ",
           levels);
  register_module("rpn", std::make_shared<RegionProposalNetwork>(rpn, neck.out_channels));
}

FeatureList TwoStageDetector::extract_features(const Tensor& images) {
  Backbone& b = backbone();
  std::vector<Tensor> c = b.forward_features(images);
  kd::tap_backbone(c);
  FeatureList f = b.child<FeaturePyramidNetwork>("fpn").forward(select_levels(c, neck_.in_levels));
  kd::tap_pyramid(f, images.size(2));
  return f;
}

LossMap TwoStageDetector::forward_train(const Tensor& images, const ImageSizes& sizes,
                                        const std::vector<data::DetTarget>& targets) {
  DF_CHECK(is_training(), ConfigError, "[", type_name(), "] forward_train needs train mode");
  DF_CHECK(images.dim() == 4 && images.size(0) == static_cast<int64_t>(targets.size()) &&
               sizes.size() == targets.size(),
           ShapeError, "[", type_name(), "] images ", shape_str(images.shape()), " with ",
           sizes.size(), " sizes and ", targets.size(), " targets");
  FeatureList f = extract_features(images);
  RpnOutput r = rpn().forward(f, {images.size(2), images.size(3)}, sizes, &targets);
  kd::tap_boxes("rpn.proposals", r.proposals);
  LossMap losses = child<RoIHeadsBase>("roi_heads").forward_train(f, r.proposals, sizes, targets);
  for (auto& l : r.losses) losses.push_back(l);
  return losses;
}

std::vector<Detections> TwoStageDetector::forward_eval(const Tensor& images,
                                                       const ImageSizes& sizes) {
  DF_CHECK(!is_training(), ConfigError, "[", type_name(), "] forward_eval needs eval mode");
  DF_CHECK(images.dim() == 4 && images.size(0) == static_cast<int64_t>(sizes.size()), ShapeError,
           "[", type_name(), "] images ", shape_str(images.shape()), " with ", sizes.size(),
           " sizes");
  NoGradGuard ng;
  FeatureList f = extract_features(images);
  RpnOutput r = rpn().forward(f, {images.size(2), images.size(3)}, sizes);
  return child<RoIHeadsBase>("roi_heads").forward_eval(f, r.proposals, sizes, postprocess);
}

FasterRCNN::FasterRCNN(std::shared_ptr<Backbone> backbone, const NeckConfig& neck,
                       const RpnConfig& rpn, const RoIHeadsConfig& roi, int64_t num_classes)
    : nn::Cloneable<FasterRCNN, TwoStageDetector>(std::move(backbone), neck, rpn, num_classes) {
  register_module("roi_heads",
                  std::make_shared<StandardRoIHeads>(roi, neck.out_channels, num_classes + 1));
}

TwoStageParts parse_two_stage_parts(const nlohmann::json& model, const std::string& path,
                                    const char* who) {
  nn::JsonReader r(model, path, who);
  r.allow({"type", "backbone", "neck", "rpn", "roi_heads", "num_classes", "postprocess"});
  if (!r.has("num_classes")) r.fail("num_classes", "an integer >= 1 (foreground classes)");
  TwoStageParts parts;
  parts.num_classes = r.get_int("num_classes", 0, 1);
  if (!r.has("backbone")) r.fail("backbone", "an object");
  parts.backbone = build_backbone(r.get_object("backbone"), path + ".backbone");
  parts.neck = parse_two_stage_neck(model, path);
  parts.rpn = parse_rpn_config(model, path);
  return parts;
}

std::shared_ptr<Detector> build_faster_rcnn(const nlohmann::json& model, const std::string& path) {
  TwoStageParts parts = parse_two_stage_parts(model, path, kWho);
  nn::JsonReader r(model, path, kWho);
  nn::JsonReader rr(r.get_object("roi_heads"), path + ".roi_heads", kWho);
  rr.allow({"roi_size", "sampling_ratio", "representation_size", "fg_iou_thresh", "bg_iou_thresh",
            "batch_size_per_image", "positive_fraction", "bbox_reg_weights", "smooth_l1_beta",
            "min_size", "add_gt_as_proposals"});
  RoIHeadsConfig roi = parse_roi_heads_config(rr);
  auto det =
      std::make_shared<FasterRCNN>(parts.backbone, parts.neck, parts.rpn, roi, parts.num_classes);
  det->postprocess = parse_postprocess(model, path);
  return det;
}

DF_REGISTER_DETECTOR("faster_rcnn", build_faster_rcnn);

}  // namespace detforge::detection

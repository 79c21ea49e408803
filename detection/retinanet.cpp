#include "detection/retinanet.h"

#include <algorithm>
#include <cmath>

#include "autograd/box_iou.h"
#include "autograd/elementwise.h"
#include "autograd/grad_mode.h"
#include "autograd/indexing.h"
#include "autograd/loss.h"
#include "autograd/nms.h"
#include "autograd/reduction.h"
#include "autograd/sigmoid_focal_loss.h"
#include "detection/atss_assigner.h"
#include "detection/backbone.h"
#include "detection/fpn.h"
#include "detection/heads/retinanet_head.h"
#include "detection/layers.h"
#include "detection/module_config.h"
#include "kd/taps.h"
#include "nn/json_reader.h"
#include "tensor/error.h"

namespace detforge::detection {
namespace {

constexpr const char* kWho = "retinanet";

std::vector<std::vector<double>> level_sizes(const RetinaNetConfig& c) {
  if (c.scales_per_octave == 3) return retinanet_anchor_sizes(c.anchor_sizes, c.truncate_scales);
  std::vector<std::vector<double>> out;
  for (double x : c.anchor_sizes) {
    std::vector<double> s{x};
    for (int64_t k = 1; k < c.scales_per_octave; ++k) {
      const double v = x * std::pow(2.0, static_cast<double>(k) / c.scales_per_octave);
      s.push_back(c.truncate_scales ? std::trunc(v) : v);
    }
    out.push_back(s);
  }
  return out;
}

Tensor i64_scalar(int64_t v, Device d) {
  return Tensor::scalar(static_cast<double>(v), DType::i64, d);
}

}  // namespace

RetinaNetConfig parse_retinanet_config(const nlohmann::json& model, const std::string& path) {
  nn::JsonReader r(model, path, kWho);
  r.allow({"type", "num_classes", "backbone", "neck", "head", "anchors", "matcher", "loss",
           "postprocess"});
  RetinaNetConfig c;
  c.num_classes = r.get_int("num_classes", c.num_classes, 1);

  nn::JsonReader a(r.get_object("anchors"), r.key_path("anchors"), kWho);
  a.allow({"sizes", "scales_per_octave", "truncate", "aspect_ratios"});
  c.anchor_sizes = a.get_double_list("sizes", c.anchor_sizes);
  if (c.anchor_sizes.empty()) a.fail("sizes", "a non-empty list of base sizes (one per level)");
  for (double s : c.anchor_sizes)
    if (!(s > 0)) a.fail("sizes", "positive base sizes");
  c.scales_per_octave = a.get_int("scales_per_octave", c.scales_per_octave, 1);
  c.truncate_scales = a.get_bool("truncate", c.truncate_scales);
  c.aspect_ratios = a.get_double_list("aspect_ratios", c.aspect_ratios);
  if (c.aspect_ratios.empty()) a.fail("aspect_ratios", "a non-empty list of ratios");
  for (double s : c.aspect_ratios)
    if (!(s > 0)) a.fail("aspect_ratios", "positive ratios (height / width)");

  nn::JsonReader m(r.get_object("matcher"), r.key_path("matcher"), kWho);
  m.allow({"type", "topk", "fg_iou_thresh", "bg_iou_thresh", "allow_low_quality_matches"});
  c.matcher = m.get_string("type", c.matcher, {"iou", "atss"});
  if (c.matcher == "atss") {
    for (const char* key : {"fg_iou_thresh", "bg_iou_thresh", "allow_low_quality_matches"})
      if (m.has(key)) m.fail(key, "nothing (an IoU-matcher key; \"type\" is \"atss\")");
  } else if (m.has("topk")) {
    m.fail("topk", "nothing (the ATSS candidate count; \"type\" is \"iou\")");
  }
  c.atss_topk = m.get_int("topk", c.atss_topk, 1);
  c.fg_iou_thresh = m.get_double("fg_iou_thresh", c.fg_iou_thresh, 0.0);
  c.bg_iou_thresh = m.get_double("bg_iou_thresh", c.bg_iou_thresh, 0.0);
  if (c.bg_iou_thresh > c.fg_iou_thresh)
    m.fail("bg_iou_thresh", str_cat("a value <= fg_iou_thresh ", c.fg_iou_thresh));
  c.allow_low_quality_matches = m.get_bool("allow_low_quality_matches", true);

  nn::JsonReader l(r.get_object("loss"), r.key_path("loss"), kWho);
  l.allow({"focal_alpha", "focal_gamma", "box", "smooth_l1_beta", "iou_eps"});
  c.focal_alpha = l.get_double("focal_alpha", c.focal_alpha);
  c.focal_gamma = l.get_double("focal_gamma", c.focal_gamma, 0.0);
  c.box_loss = l.get_string("box", c.box_loss, {"l1", "smooth_l1", "giou", "diou", "ciou"});
  c.smooth_l1_beta = l.get_double("smooth_l1_beta", c.smooth_l1_beta, 0.0);
  c.iou_loss_eps = l.get_double("iou_eps", c.iou_loss_eps, 0.0);

  nn::JsonReader p(r.get_object("postprocess"), r.key_path("postprocess"), kWho);
  p.allow({"score_thresh", "topk_candidates", "nms_thresh", "detections_per_img"});
  c.score_thresh = p.get_double("score_thresh", c.score_thresh);
  c.topk_candidates = p.get_int("topk_candidates", c.topk_candidates, 1);
  c.nms_thresh = p.get_double("nms_thresh", c.nms_thresh, 0.0);
  c.detections_per_img = p.get_int("detections_per_img", c.detections_per_img, 1);
  return c;
}

RetinaNet::RetinaNet(std::shared_ptr<Backbone> backbone, std::shared_ptr<nn::Module> fpn,
                     std::vector<int64_t> fpn_in_levels, std::shared_ptr<nn::Module> head,
                     RetinaNetConfig cfg)
    : cfg_(std::move(cfg)),
      in_levels_(std::move(fpn_in_levels)),
      anchors_(level_sizes(cfg_), {cfg_.aspect_ratios}),
      coder_({1, 1, 1, 1}),
      matcher_(cfg_.fg_iou_thresh, cfg_.bg_iou_thresh, cfg_.allow_low_quality_matches) {
  DF_CHECK(backbone && fpn && head, ConfigError, "[", kWho, "] null backbone, fpn or head");
  backbone->register_module("fpn", std::move(fpn));
  register_module("backbone", std::move(backbone));
  register_module("head", std::move(head));
  postprocess.score_thresh = cfg_.score_thresh;
  postprocess.nms_thresh = cfg_.nms_thresh;
  postprocess.max_detections = cfg_.detections_per_img;
}

RetinaNetOutputs RetinaNet::forward_raw(const Tensor& images) {
  DF_CHECK(images.dim() == 4, ShapeError, "[", kWho, "] images ", shape_str(images.shape()),
           " must be [N, 3, H, W]");
  auto& backbone = child<Backbone>("backbone");
  std::vector<Tensor> c = backbone.forward_features(images);
  kd::tap_backbone(c);
  FeatureList levels = select_levels(c, in_levels_);
  FeatureList pyramid = backbone.child<FeaturePyramidNetwork>("fpn").forward(levels);
  kd::tap_pyramid(pyramid, images.size(2));
  std::vector<Tensor> features = feature_tensors(pyramid);
  DF_CHECK(static_cast<int64_t>(features.size()) == anchors_.num_levels(), ConfigError, "[", kWho,
           "] the neck yields ", features.size(), " levels but anchors.sizes has ",
           anchors_.num_levels(), " (one base size per level)");
  RetinaNetHeadOutput h = child<RetinaNetHead>("head").forward(features);
  RetinaNetOutputs out;
  out.cls_logits = h.cls_logits;
  out.bbox_regression = h.bbox_regression;
  std::vector<Size2> sizes;
  const int64_t a = anchors_.num_anchors_per_location().front();
  for (const Tensor& f : features) {
    sizes.push_back({f.size(2), f.size(3)});
    out.anchors_per_level.push_back(f.size(2) * f.size(3) * a);
  }
  out.anchors = anchors_({images.size(2), images.size(3)}, sizes, DType::f32, images.device());
  if (kd::tapping()) {
    kd::tap("head.cls_logits", out.cls_logits);
    kd::tap("head.box_regression", out.bbox_regression);
    kd::tap("head.anchors", out.anchors);
  }
  return out;
}

LossMap RetinaNet::compute_loss(const RetinaNetOutputs& out,
                                const std::vector<data::DetTarget>& targets) {
  const Tensor& cls = out.cls_logits;
  const Tensor& reg = out.bbox_regression;
  const int64_t n = cls.size(0), na = cls.size(1), k = cls.size(2);
  const Device dev = cls.device();
  DF_CHECK(static_cast<int64_t>(targets.size()) == n, ShapeError, "[", kWho, "] ", targets.size(),
           " targets for a batch of ", n, " images");
  DF_CHECK(k == cfg_.num_classes, ShapeError, "[", kWho, "] head has ", k,
           " classes, config num_classes ", cfg_.num_classes);

  Tensor gidx, fg, valid, gt_boxes, gt_labels;
  {
    NoGradGuard ng;
    // All images' gt concatenated, plus one dummy row so that every gather has a source.
    std::vector<Tensor> boxes, labels, matched;
    int64_t offset = 0;
    for (int64_t i = 0; i < n; ++i) {
      const auto& t = targets[i];
      const int64_t m = t.boxes.defined() ? t.boxes.size(0) : 0;
      if (m > 0 && t.labels.device() == kCPU) {
        const Tensor l = t.labels.to(DType::i64).contiguous();
        const int64_t* lp = l.data<int64_t>();
        for (int64_t j = 0; j < m; ++j)
          DF_CHECK(lp[j] >= 1 && lp[j] <= k, ShapeError, "[", kWho, "] image ", i, " label ", lp[j],
                   " outside 1..", k);
      }
      if (m > 0 && t.boxes.device() == kCPU) {  // torchvision's degenerate-box assertion
        DF_CHECK(t.boxes.dim() == 2 && t.boxes.size(1) == 4, ShapeError, "[", kWho, "] image ", i,
                 " boxes ", shape_str(t.boxes.shape()), " must be [n, 4]");
        const Tensor b = t.boxes.to(DType::f32).contiguous();
        const float* bp = b.data<float>();
        for (int64_t j = 0; j < m; ++j)
          DF_CHECK(bp[4 * j + 2] > bp[4 * j] && bp[4 * j + 3] > bp[4 * j + 1], ShapeError, "[",
                   kWho, "] image ", i, " box ", j, " (", bp[4 * j], ", ", bp[4 * j + 1], ", ",
                   bp[4 * j + 2], ", ", bp[4 * j + 3],
                   ") must have positive width and height (torchvision asserts the same)");
      }
      if (m == 0) {
        matched.push_back(Tensor::full({na}, Matcher::BELOW_LOW_THRESHOLD, DType::i64, dev));
        continue;
      }
      Tensor b = t.boxes.to(dev, DType::f32);
      boxes.push_back(b);
      labels.push_back(t.labels.to(dev, DType::i64));
      Tensor mi = cfg_.matcher == "atss"
                      ? atss_assign(b, out.anchors, out.anchors_per_level, cfg_.atss_topk)
                      : matcher_(box_iou(b, out.anchors));
      // Global gt index for the foreground, -1 / -2 kept for the rest.
      matched.push_back(where(ge(mi, i64_scalar(0, dev)), add(mi, i64_scalar(offset, dev)), mi));
      offset += m;
    }
    boxes.push_back(Tensor::from_vector<float>({0.f, 0.f, 1.f, 1.f}, {1, 4}, dev));
    labels.push_back(i64_scalar(1, dev).reshape({1}));
    gt_boxes = cat(boxes, 0);
    gt_labels = cat(labels, 0);
    Tensor all = stack(matched, 0);  // [N, A]
    fg = ge(all, i64_scalar(0, dev));
    valid = ne(all, i64_scalar(Matcher::BETWEEN_THRESHOLDS, dev));
    gidx = where(fg, all, i64_scalar(offset, dev)).reshape({-1});  // dummy row for the rest
  }

  Tensor fg_f, denom, cls_target;
  {
    NoGradGuard ng;
    fg_f = fg.to(DType::f32);                          // [N, A]
    denom = clamp(sum(fg_f, {1}), 1.0, std::nullopt);  // [N] max(1, num foreground)
    Tensor col = sub(index_select(gt_labels, 0, gidx), i64_scalar(1, dev));  // [N A]
    cls_target = mul(one_hot(col, k).to(DType::f32).reshape({n, na, k}), fg_f.unsqueeze(2));
  }
  // Classification: focal loss over the anchors that are not between thresholds.
  Tensor focal = sigmoid_focal_loss(cls, cls_target, cfg_.focal_alpha, cfg_.focal_gamma, "none");
  Tensor valid_f = valid.to(DType::f32).unsqueeze(2);
  Tensor cls_per_image = sum(mul(focal, valid_f), {1, 2});  // [N]
  Tensor cls_loss = div(sum(div(cls_per_image, denom)), static_cast<double>(n));

  // Regression over the foreground: background anchors use themselves as reference (a finite,
  // zero-weighted term).
  Tensor anchors_rep = out.anchors.unsqueeze(0).expand({n, na, 4});
  Tensor ref;
  {
    NoGradGuard ng;
    Tensor matched_gt = index_select(gt_boxes, 0, gidx).reshape({n, na, 4});
    ref = where(fg.unsqueeze(2), matched_gt, anchors_rep).reshape({-1, 4});
  }
  Tensor pred = reg.reshape({-1, 4});
  Tensor flat_anchors = anchors_rep.reshape({-1, 4});
  Tensor per_anchor;  // [N A]
  const std::string& type = cfg_.box_loss;
  if (type == "l1" || type == "smooth_l1") {
    Tensor target;
    {
      NoGradGuard ng;
      target = coder_.encode_single(ref, flat_anchors);
    }
    Tensor e = type == "l1" ? l1_loss(pred, target, "none")
                            : smooth_l1_loss(pred, target, "none", cfg_.smooth_l1_beta);
    per_anchor = sum(e, {1});
  } else {
    Tensor decoded = coder_.decode_single(pred, flat_anchors);
    if (type == "giou")
      per_anchor = generalized_box_iou_loss(decoded, ref, "none", cfg_.iou_loss_eps);
    else if (type == "diou")
      per_anchor = distance_box_iou_loss(decoded, ref, "none", cfg_.iou_loss_eps);
    else
      per_anchor = complete_box_iou_loss(decoded, ref, "none", cfg_.iou_loss_eps);
  }
  Tensor reg_per_image = sum(mul(per_anchor.reshape({n, na}), fg_f), {1});
  Tensor reg_loss = div(sum(div(reg_per_image, denom)), static_cast<double>(n));
  return {{"classification", cls_loss}, {"bbox_regression", reg_loss}};
}

std::vector<Detections> RetinaNet::postprocess_detections(const RetinaNetOutputs& out,
                                                          const ImageSizes& sizes) const {
  NoGradGuard ng;
  const int64_t n = out.cls_logits.size(0), k = out.cls_logits.size(2);
  const Device dev = out.cls_logits.device();
  DF_CHECK(static_cast<int64_t>(sizes.size()) == n, ShapeError, "[", kWho, "] ", sizes.size(),
           " image sizes for a batch of ", n);
  std::vector<Detections> result;
  const Tensor kk = i64_scalar(k, dev);
  for (int64_t i = 0; i < n; ++i) {
    Tensor logits_i = out.cls_logits.select(0, i), reg_i = out.bbox_regression.select(0, i);
    std::vector<Tensor> all_boxes, all_scores, all_labels;
    int64_t start = 0;
    for (int64_t len : out.anchors_per_level) {
      Tensor scores = sigmoid(logits_i.narrow(0, start, len)).reshape({-1});
      Tensor keep = gt(scores, Tensor::scalar(postprocess.score_thresh, scores.dtype(), dev));
      // Kept positions in (anchor, class) order; the count is a host read on CUDA (as torch.where).
      Tensor pos = masked_select(Tensor::arange(len * k, DType::i64, dev), keep);
      Tensor kept = masked_select(scores, keep);
      const int64_t num = std::min<int64_t>(cfg_.topk_candidates, kept.size(0));
      auto [top_scores, top_idx] = topk(kept, num, 0, true, true);
      Tensor idx = index_select(pos, 0, top_idx);
      Tensor anchor_idx = div(idx, kk, "floor");
      Tensor labels = sub(idx, mul(anchor_idx, kk));
      Tensor boxes =
          coder_.decode_single(index_select(reg_i.narrow(0, start, len), 0, anchor_idx),
                               index_select(out.anchors.narrow(0, start, len), 0, anchor_idx));
      const double h = static_cast<double>(sizes[i][0]), w = static_cast<double>(sizes[i][1]);
      Tensor xs = clamp(boxes.slice(1, 0, 4, 2), 0.0, w);
      Tensor ys = clamp(boxes.slice(1, 1, 4, 2), 0.0, h);
      all_boxes.push_back(stack({xs, ys}, 2).reshape({-1, 4}));
      all_scores.push_back(top_scores);
      all_labels.push_back(labels);
      start += len;
    }
    Tensor boxes = cat(all_boxes, 0), scores = cat(all_scores, 0), labels = cat(all_labels, 0);
    Tensor keep = batched_nms(boxes, scores, labels, postprocess.nms_thresh);
    keep = keep.narrow(0, 0, std::min<int64_t>(keep.size(0), postprocess.max_detections));
    Detections d;
    d.boxes = index_select(boxes, 0, keep).contiguous();
    d.scores = index_select(scores, 0, keep).contiguous();
    d.labels = add(index_select(labels, 0, keep), i64_scalar(1, dev));
    result.push_back(std::move(d));
  }
  return result;
}

LossMap RetinaNet::forward_train(const Tensor& images, const ImageSizes& sizes,
                                 const std::vector<data::DetTarget>& targets) {
  DF_CHECK(is_training(), ConfigError, "[", kWho, "] forward_train needs train mode");
  (void)sizes;  // RetinaNet's loss does not clip: anchors cover the padded batch
  return compute_loss(forward_raw(images), targets);
}

std::vector<Detections> RetinaNet::forward_eval(const Tensor& images, const ImageSizes& sizes) {
  NoGradGuard ng;
  return postprocess_detections(forward_raw(images), sizes);
}

namespace {

std::shared_ptr<Detector> build_retinanet(const nlohmann::json& model, const std::string& path) {
  RetinaNetConfig cfg = parse_retinanet_config(model, path);
  nn::JsonReader r(model, path, kWho);
  DF_CHECK(r.has("backbone"), ConfigError, "[", kWho, "] ", r.key_path("backbone"),
           ": expected a backbone object");
  std::shared_ptr<Backbone> backbone =
      build_backbone(r.get_object("backbone"), r.key_path("backbone"));
  // torchvision's retinanet_resnet50_fpn: returned_layers [2, 3, 4] (C3..C5), 256 channels,
  // LastLevelP6P7(256, 256) (P6 from P5); "p6_from": "c5" gives v2's LastLevelP6P7(C5, 256).
  nlohmann::json neck = {
      {"type", "fpn"}, {"in_levels", {3, 4, 5}}, {"out_channels", 256}, {"extra", "p6p7"}};
  if (r.has("neck")) {
    nlohmann::json user = r.get_object("neck");
    for (auto it = user.begin(); it != user.end(); ++it) neck[it.key()] = it.value();
  }
  NeckConfig nc = parse_neck(neck, r.key_path("neck"));
  DF_CHECK(nc.type == "fpn", ConfigError, "[", kWho, "] ", r.key_path("neck.type"),
           ": expected \"fpn\", got \"", nc.type, "\"");
  const int64_t levels =
      static_cast<int64_t>(nc.in_levels.size()) + (nc.extra == FpnExtra::none       ? 0
                                                   : nc.extra == FpnExtra::max_pool ? 1
                                                                                    : 2);
  DF_CHECK(levels == static_cast<int64_t>(cfg.anchor_sizes.size()), ConfigError, "[", kWho, "] ",
           r.key_path("anchors.sizes"), ": expected one base size per pyramid level (", levels,
           "), got ", cfg.anchor_sizes.size());
  auto fpn = build_neck(nc, backbone->feature_channels());

  nn::JsonReader h(r.get_object("head"), r.key_path("head"), kWho);
  h.allow({"type", "prior_probability", "norm", "gn_groups"});
  HeadConfig hc;
  hc.type = h.get_string("type", "retinanet", {"retinanet"});
  hc.num_anchors = cfg.scales_per_octave * static_cast<int64_t>(cfg.aspect_ratios.size());
  hc.num_classes = cfg.num_classes;
  hc.prior_probability = h.get_double("prior_probability", 0.01, 0.0);
  if (!(hc.prior_probability > 0 && hc.prior_probability < 1))
    h.fail("prior_probability", "a probability in (0, 1)");
  hc.norm = h.get_string("norm", "none", {"none", "gn"});
  hc.gn_groups = h.get_int("gn_groups", 32, 1);
  if (nc.out_channels % hc.gn_groups != 0 && hc.norm == "gn")
    h.fail("gn_groups", str_cat("a divisor of the FPN width ", nc.out_channels));
  auto head = build_retinanet_head(hc, nc.out_channels);
  return std::make_shared<RetinaNet>(backbone, fpn, nc.in_levels, head, cfg);
}

}  // namespace

DF_REGISTER_DETECTOR("retinanet", build_retinanet);

}  // namespace detforge::detection

#include "detection/cascade_rcnn.h"

#include "autograd/elementwise.h"
#include "autograd/grad_mode.h"
#include "autograd/indexing.h"
#include "autograd/reduction.h"
#include "kd/taps.h"
#include "nn/linear.h"
#include "nn/sequential.h"
#include "tensor/error.h"

namespace detforge::detection {
namespace {

const char* kWho = "detector.cascade_rcnn";

// 1 + argmax over the foreground columns of logits [N, C + 1] (int64).
Tensor best_foreground(const Tensor& logits, int64_t num_classes) {
  Tensor a = argmax(logits.narrow(1, 1, num_classes - 1), 1);
  return add(a, Tensor::scalar(1, DType::i64, a.device()));
}

std::vector<int64_t> counts_of(const std::vector<Tensor>& rois) {
  std::vector<int64_t> c;
  for (const auto& r : rois) c.push_back(r.size(0));
  return c;
}

}  // namespace

CascadeBoxPredictor::CascadeBoxPredictor(int64_t in, int64_t num_classes, bool agnostic) {
  register_module("cls_score", std::make_shared<nn::Linear>(in, num_classes));
  register_module("bbox_pred", std::make_shared<nn::Linear>(in, agnostic ? 4 : 4 * num_classes));
}

BoxPredictions CascadeBoxPredictor::predict(const Tensor& x) {
  Tensor f = x.dim() > 2 ? x.flatten(1) : x;
  return {child("cls_score").forward(f), child("bbox_pred").forward(f)};
}

CascadeRoIHeads::CascadeRoIHeads(const CascadeConfig& cfg, int64_t in_channels, int64_t num_classes)
    : cfg_(cfg),
      num_classes_(num_classes),
      pooler_(cfg.base.featmap_names, {cfg.base.roi_size, cfg.base.roi_size},
              cfg.base.sampling_ratio) {
  const int64_t S = cfg.num_stages();
  DF_CHECK(S >= 2 && S <= 4, ConfigError, "[", kWho, "] ", S, " stages: expected 2 to 4");
  DF_CHECK(static_cast<int64_t>(cfg.bbox_reg_weights.size()) == S &&
               static_cast<int64_t>(cfg.loss_weights.size()) == S,
           ConfigError, "[", kWho, "] ", S, " IoU thresholds but ", cfg.bbox_reg_weights.size(),
           " box coder weights and ", cfg.loss_weights.size(), " loss weights");
  auto heads = register_module("box_head", std::make_shared<nn::Sequential>());
  auto preds = register_module("box_predictor", std::make_shared<nn::Sequential>());
  const int64_t roi = cfg.base.roi_size;
  for (int64_t i = 0; i < S; ++i) {
    heads->push_back(
        std::make_shared<TwoMLPHead>(in_channels * roi * roi, cfg.base.representation_size));
    preds->push_back(std::make_shared<CascadeBoxPredictor>(cfg.base.representation_size,
                                                           num_classes, cfg.class_agnostic));
  }
}

RoIHeadsConfig CascadeRoIHeads::stage_config(int64_t stage) const {
  RoIHeadsConfig c = cfg_.base;
  c.fg_iou_thresh = c.bg_iou_thresh = cfg_.iou_thresholds.at(stage);
  c.bbox_reg_weights = cfg_.bbox_reg_weights.at(stage);
  return c;
}

BoxPredictions CascadeRoIHeads::predict(int64_t stage, const FeatureList& features,
                                        const std::vector<Tensor>& rois, const ImageSizes& sizes) {
  Tensor pooled = pooler_(feature_map(features), rois, image_shapes(sizes));
  const std::string k = std::to_string(stage);
  Tensor rep = child("box_head").child<TwoMLPHead>(k).forward(pooled);
  return child("box_predictor").child<CascadeBoxPredictor>(k).predict(rep);
}

std::vector<Tensor> CascadeRoIHeads::refine(int64_t stage, const BoxPredictions& p,
                                            const std::vector<Tensor>& rois,
                                            const std::vector<Tensor>& labels,
                                            const ImageSizes& sizes) const {
  NoGradGuard ng;
  BoxCoder coder(cfg_.bbox_reg_weights.at(stage));
  Tensor deltas = p.deltas.detach();
  std::vector<Tensor> out;
  int64_t off = 0;
  for (size_t i = 0; i < rois.size(); ++i) {
    const int64_t n = rois[i].size(0);
    Tensor d = deltas.narrow(0, off, n);
    off += n;
    Tensor boxes;
    if (cfg_.class_agnostic) {
      boxes = coder.decode_single(d, rois[i]);
    } else {
      // The regression column of each RoI's class: rows r * K + label of [n K, 4].
      const int64_t K = d.size(1) / 4;
      Tensor base = mul(Tensor::arange(n, DType::i64, d.device()),
                        Tensor::scalar(static_cast<double>(K), DType::i64, d.device()));
      Tensor rows = add(base, labels[i]);
      boxes = index_select(coder.decode_single(d, rois[i]).reshape({-1, 4}), 0, rows);
    }
    out.push_back(clip_boxes_to_image(boxes, sizes[i][0], sizes[i][1]));
  }
  return out;
}

LossMap CascadeRoIHeads::forward_train(const FeatureList& features,
                                       const std::vector<Tensor>& proposals,
                                       const ImageSizes& sizes,
                                       const std::vector<data::DetTarget>& targets) {
  LossMap losses;
  std::vector<Tensor> props = proposals;
  for (int64_t s = 0; s < cfg_.num_stages(); ++s) {
    const RoIHeadsConfig c = stage_config(s);
    RoiSamples smp = sample_proposals(props, targets, c, BoxCoder(c.bbox_reg_weights));
    BoxPredictions p = predict(s, features, smp.proposals, sizes);
    if (s == 0 && kd::tapping()) {  // distillation taps: the first stage (kd/taps.h)
      kd::tap_boxes("roi.rois", smp.proposals);
      kd::tap("roi.labels", cat(smp.labels, 0));
      kd::tap("roi.cls_logits", p.scores);
      kd::tap("roi.box_regression", p.deltas);
    }
    auto l = fastrcnn_loss(p.scores, p.deltas, smp.labels, smp.regression_targets, c.smooth_l1_beta,
                           cfg_.class_agnostic);
    const double w = cfg_.loss_weights[s];
    const std::string pre = "s" + std::to_string(s) + ".";
    losses.push_back({pre + "loss_classifier", mul(l.first, w)});
    losses.push_back({pre + "loss_box_reg", mul(l.second, w)});
    if (s + 1 == cfg_.num_stages()) break;
    // Next stage's proposals: this stage's refined RoIs without the appended GT boxes.
    std::vector<Tensor> labels;
    {
      NoGradGuard ng;
      Tensor best = best_foreground(p.scores.detach(), num_classes_);
      int64_t off = 0;
      for (size_t i = 0; i < smp.labels.size(); ++i) {
        const int64_t n = smp.labels[i].size(0);
        Tensor lab = smp.labels[i];
        labels.push_back(where(gt(lab, Tensor::scalar(0, DType::i64, lab.device())), lab,
                               best.narrow(0, off, n)));
        off += n;
      }
    }
    std::vector<Tensor> refined = refine(s, p, smp.proposals, labels, sizes);
    props.clear();
    for (size_t i = 0; i < refined.size(); ++i) {
      std::vector<int64_t> keep;
      for (size_t j = 0; j < smp.is_gt[i].size(); ++j)
        if (!smp.is_gt[i][j]) keep.push_back(static_cast<int64_t>(j));
      props.push_back(index_select(
          refined[i], 0,
          Tensor::from_vector(keep, {static_cast<int64_t>(keep.size())}, refined[i].device())));
    }
  }
  return losses;
}

std::vector<std::vector<Tensor>> CascadeRoIHeads::stage_rois(const FeatureList& features,
                                                             const std::vector<Tensor>& proposals,
                                                             const ImageSizes& sizes) {
  NoGradGuard ng;
  std::vector<std::vector<Tensor>> out{proposals};
  for (int64_t s = 0; s + 1 < cfg_.num_stages(); ++s) {
    BoxPredictions p = predict(s, features, out.back(), sizes);
    std::vector<Tensor> labels;
    if (!cfg_.class_agnostic) {
      Tensor best = best_foreground(p.scores, num_classes_);
      int64_t off = 0;
      for (const auto& r : out.back()) {
        labels.push_back(best.narrow(0, off, r.size(0)));
        off += r.size(0);
      }
    }
    out.push_back(refine(s, p, out.back(), labels, sizes));
  }
  return out;
}

std::vector<Detections> CascadeRoIHeads::forward_eval(const FeatureList& features,
                                                      const std::vector<Tensor>& proposals,
                                                      const ImageSizes& sizes,
                                                      const PostprocessConfig& post) {
  NoGradGuard ng;
  std::vector<Tensor> rois = proposals;
  Tensor logit_sum;
  BoxPredictions p;
  const int64_t S = cfg_.num_stages();
  for (int64_t s = 0; s < S; ++s) {
    p = predict(s, features, rois, sizes);
    logit_sum = s == 0 ? p.scores : add(logit_sum, p.scores);
    if (s + 1 == S) break;
    std::vector<Tensor> labels;
    if (!cfg_.class_agnostic) {
      Tensor best = best_foreground(p.scores, num_classes_);
      int64_t off = 0;
      for (const auto& r : rois) {
        labels.push_back(best.narrow(0, off, r.size(0)));
        off += r.size(0);
      }
    }
    rois = refine(s, p, rois, labels, sizes);
  }
  Tensor scores = softmax(div(logit_sum, static_cast<double>(S)), -1);
  Tensor boxes = BoxCoder(cfg_.bbox_reg_weights.back()).decode(p.deltas, rois);
  return postprocess_detections(scores, boxes, counts_of(rois), sizes, post, cfg_.base.min_size);
}

CascadeRCNN::CascadeRCNN(std::shared_ptr<Backbone> backbone, const NeckConfig& neck,
                         const RpnConfig& rpn, const CascadeConfig& cascade, int64_t num_classes)
    : nn::Cloneable<CascadeRCNN, TwoStageDetector>(std::move(backbone), neck, rpn, num_classes) {
  register_module("roi_heads",
                  std::make_shared<CascadeRoIHeads>(cascade, neck.out_channels, num_classes + 1));
}

std::shared_ptr<Detector> build_cascade_rcnn(const nlohmann::json& model, const std::string& path) {
  TwoStageParts parts = parse_two_stage_parts(model, path, kWho);
  nn::JsonReader r(model, path, kWho);
  nlohmann::json rj = r.get_object("roi_heads");
  nn::JsonReader rr(rj, path + ".roi_heads", kWho);
  rr.allow({"roi_size", "sampling_ratio", "representation_size", "batch_size_per_image",
            "positive_fraction", "smooth_l1_beta", "min_size", "add_gt_as_proposals",
            "iou_thresholds", "bbox_reg_weights", "loss_weights", "class_agnostic"});
  CascadeConfig c;
  const double beta = c.base.smooth_l1_beta;
  nlohmann::json common = rj;  // bbox_reg_weights is per stage here
  common.erase("bbox_reg_weights");
  c.base = parse_roi_heads_config(nn::JsonReader(common, path + ".roi_heads", kWho));
  c.base.smooth_l1_beta = rr.get_double("smooth_l1_beta", beta, 0);
  c.iou_thresholds = rr.get_double_list("iou_thresholds", c.iou_thresholds);
  const size_t S = c.iou_thresholds.size();
  if (S < 2 || S > 4) rr.fail("iou_thresholds", "2 to 4 numbers (one per stage)");
  for (double t : c.iou_thresholds)
    if (t < 0 || t > 1) rr.fail("iou_thresholds", "numbers in [0, 1]");
  if (rj.contains("bbox_reg_weights")) {
    const auto& w = rj.at("bbox_reg_weights");
    const std::string what = str_cat(S, " lists of 4 positive numbers (one per stage)");
    if (!w.is_array() || w.size() != S) rr.fail("bbox_reg_weights", what);
    c.bbox_reg_weights.clear();
    for (const auto& e : w) {
      if (!e.is_array() || e.size() != 4) rr.fail("bbox_reg_weights", what);
      std::array<double, 4> a{};
      for (size_t k = 0; k < 4; ++k) {
        if (!e[k].is_number() || e[k].get<double>() <= 0) rr.fail("bbox_reg_weights", what);
        a[k] = e[k].get<double>();
      }
      c.bbox_reg_weights.push_back(a);
    }
  } else if (S != c.bbox_reg_weights.size()) {
    // Defaults for 2 or 4 stages: the first S of (10, 10, 5, 5) x (1, 2, 3, 4).
    c.bbox_reg_weights.clear();
    for (size_t i = 0; i < S; ++i) {
      const double m = static_cast<double>(i + 1);
      c.bbox_reg_weights.push_back({10 * m, 10 * m, 5 * m, 5 * m});
    }
  }
  if (rj.contains("loss_weights")) {
    c.loss_weights = rr.get_double_list("loss_weights", {});
    if (c.loss_weights.size() != S) rr.fail("loss_weights", str_cat(S, " numbers (one per stage)"));
  } else if (S != c.loss_weights.size()) {
    c.loss_weights.clear();  // 1, 0.5, 0.25, 0.125
    for (size_t i = 0; i < S; ++i) c.loss_weights.push_back(1.0 / static_cast<double>(1 << i));
  }
  c.class_agnostic = rr.get_bool("class_agnostic", c.class_agnostic);
  auto det =
      std::make_shared<CascadeRCNN>(parts.backbone, parts.neck, parts.rpn, c, parts.num_classes);
  det->postprocess = parse_postprocess(model, path);
  return det;
}

DF_REGISTER_DETECTOR("cascade_rcnn", build_cascade_rcnn);

}  // namespace detforge::detection

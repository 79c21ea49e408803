#include "detection/roi_heads.h"

#include <algorithm>

#include "autograd/box_iou.h"
#include "autograd/elementwise.h"
#include "autograd/grad_mode.h"
#include "autograd/indexing.h"
#include "autograd/loss.h"
#include "autograd/nms.h"
#include "autograd/reduction.h"
#include "detection/balanced_sampler.h"
#include "detection/matcher.h"
#include "detection/rpn.h"
#include "kd/taps.h"
#include "tensor/error.h"

namespace detforge::detection {
namespace {

Tensor index_tensor(const std::vector<int64_t>& v, Device dev) {
  return Tensor::from_vector(v, {static_cast<int64_t>(v.size())}, dev);
}

}  // namespace

std::map<std::string, Tensor> feature_map(const FeatureList& features) {
  std::map<std::string, Tensor> m;
  for (const auto& kv : features) m[kv.first] = kv.second;
  return m;
}

std::vector<std::pair<int64_t, int64_t>> image_shapes(const ImageSizes& sizes) {
  std::vector<std::pair<int64_t, int64_t>> out;
  for (const auto& s : sizes) out.emplace_back(s[0], s[1]);
  return out;
}

RoiSamples sample_proposals(const std::vector<Tensor>& proposals,
                            const std::vector<data::DetTarget>& targets, const RoIHeadsConfig& cfg,
                            const BoxCoder& coder) {
  NoGradGuard ng;
  DF_CHECK(proposals.size() == targets.size(), ShapeError, "[detection.roi_heads] ",
           proposals.size(), " proposal sets for ", targets.size(), " targets");
  Matcher matcher(cfg.fg_iou_thresh, cfg.bg_iou_thresh, false);
  BalancedPositiveNegativeSampler sampler(cfg.batch_size_per_image, cfg.positive_fraction);
  RoiSamples out;
  std::vector<Tensor> all_props, all_labels, all_matched;
  std::vector<int64_t> n_before;
  for (size_t i = 0; i < proposals.size(); ++i) {
    const Tensor& p = proposals[i];
    const Device dev = p.device();
    Tensor gt = targets[i].boxes.to(dev, p.dtype()).reshape({-1, 4});
    Tensor gt_labels = targets[i].labels.to(dev, DType::i64).reshape({-1});
    n_before.push_back(p.size(0));
    Tensor props = cfg.add_gt_as_proposals && gt.size(0) > 0 ? cat({p, gt}, 0) : p;
    const int64_t n = props.size(0);
    Tensor matched, labels;
    if (gt.size(0) == 0) {
      matched = Tensor::zeros({n}, DType::i64, dev);
      labels = Tensor::zeros({n}, DType::i64, dev);
    } else {
      Tensor m = matcher(box_iou(gt, props));
      matched = clamp(m, 0.0, std::nullopt);
      std::vector<int64_t> mh = m.to_vector<int64_t>();  // host sync on CUDA
      std::vector<int64_t> gl = gt_labels.to_vector<int64_t>();
      std::vector<int64_t> lab(n);
      for (int64_t j = 0; j < n; ++j)
        lab[j] = mh[j] >= 0 ? gl[mh[j]] : (mh[j] == Matcher::BELOW_LOW_THRESHOLD ? 0 : -1);
      labels = index_tensor(lab, dev);
    }
    all_props.push_back(props);
    all_labels.push_back(labels);
    all_matched.push_back(matched);
  }
  auto masks = sampler(all_labels);
  for (size_t i = 0; i < proposals.size(); ++i) {
    const Device dev = all_props[i].device();
    std::vector<uint8_t> pm = masks.first[i].to_vector<uint8_t>();
    std::vector<uint8_t> nm = masks.second[i].to_vector<uint8_t>();
    std::vector<int64_t> keep;
    std::vector<uint8_t> is_gt;
    for (size_t j = 0; j < pm.size(); ++j)
      if (pm[j] || nm[j]) {
        keep.push_back(static_cast<int64_t>(j));
        is_gt.push_back(static_cast<int64_t>(j) >= n_before[i] ? 1 : 0);
      }
    Tensor k = index_tensor(keep, dev);
    Tensor props = index_select(all_props[i], 0, k);
    Tensor gt = targets[i].boxes.to(dev, props.dtype()).reshape({-1, 4});
    if (gt.size(0) == 0) gt = Tensor::zeros({1, 4}, props.dtype(), dev);
    Tensor matched_gt = index_select(gt, 0, index_select(all_matched[i], 0, k));
    out.proposals.push_back(props);
    out.labels.push_back(index_select(all_labels[i], 0, k));
    out.regression_targets.push_back(coder.encode_single(matched_gt, props));
    out.is_gt.push_back(std::move(is_gt));
  }
  return out;
}

std::pair<Tensor, Tensor> fastrcnn_loss(const Tensor& class_logits, const Tensor& box_regression,
                                        const std::vector<Tensor>& labels,
                                        const std::vector<Tensor>& regression_targets, double beta,
                                        bool class_agnostic) {
  Tensor lab = cat(labels, 0);
  Tensor reg_t = cat(regression_targets, 0);
  const Device dev = class_logits.device();
  Tensor cls_loss = cross_entropy(class_logits, lab);
  const int64_t N = lab.numel();
  std::vector<int64_t> lh = lab.to_vector<int64_t>();  // host sync on CUDA (torch.where)
  std::vector<int64_t> pos, rows;
  const int64_t K = class_agnostic ? 1 : box_regression.size(1) / 4;
  for (int64_t j = 0; j < N; ++j)
    if (lh[j] > 0) {
      pos.push_back(j);
      rows.push_back(class_agnostic ? j : j * K + lh[j]);
    }
  Tensor pred = index_select(box_regression.reshape({-1, 4}), 0, index_tensor(rows, dev));
  Tensor tgt = index_select(reg_t, 0, index_tensor(pos, dev));
  Tensor box_loss = div(smooth_l1_loss(pred, tgt, "sum", beta), static_cast<double>(N));
  return {cls_loss, box_loss};
}

std::vector<Detections> postprocess_detections(const Tensor& scores, const Tensor& boxes,
                                               const std::vector<int64_t>& counts,
                                               const ImageSizes& sizes,
                                               const PostprocessConfig& post, double min_size) {
  NoGradGuard ng;
  const int64_t K = scores.size(1);  // classes + background
  const int64_t C = K - 1;
  const Device dev = scores.device();
  std::vector<Detections> out;
  int64_t off = 0;
  for (size_t i = 0; i < counts.size(); ++i) {
    const int64_t n = counts[i];
    Tensor b = boxes.narrow(0, off, n);
    if (b.size(1) == 1) b = b.expand({n, K, 4});
    b = clip_boxes_to_image(b, sizes[i][0], sizes[i][1]);
    Tensor s = scores.narrow(0, off, n);
    off += n;
    Tensor bf = b.narrow(1, 1, C).reshape({-1, 4});
    Tensor sf = s.narrow(1, 1, C).reshape({-1});
    // score > thresh (float32 comparison), host sync on CUDA.
    std::vector<float> sh = sf.to(DType::f32).to_vector<float>();
    const float th = static_cast<float>(post.score_thresh);
    std::vector<int64_t> keep, lab;
    for (size_t j = 0; j < sh.size(); ++j)
      if (sh[j] > th) keep.push_back(static_cast<int64_t>(j));
    Tensor kt = index_tensor(keep, dev);
    bf = index_select(bf, 0, kt);
    sf = index_select(sf, 0, kt);
    for (int64_t j : keep) lab.push_back(j % C + 1);
    Tensor lt = index_tensor(lab, dev);
    Tensor small = remove_small_boxes(bf, min_size);
    bf = index_select(bf, 0, small);
    sf = index_select(sf, 0, small);
    lt = index_select(lt, 0, small);
    Tensor k = batched_nms(bf, sf, lt, post.nms_thresh);
    if (k.numel() > post.max_detections) k = k.narrow(0, 0, post.max_detections);
    out.push_back({index_select(bf, 0, k), index_select(sf, 0, k), index_select(lt, 0, k)});
  }
  return out;
}

StandardRoIHeads::StandardRoIHeads(const RoIHeadsConfig& cfg, int64_t in_channels,
                                   int64_t num_classes)
    : cfg_(cfg),
      pooler_(cfg.featmap_names, {cfg.roi_size, cfg.roi_size}, cfg.sampling_ratio),
      coder_(cfg.bbox_reg_weights) {
  DF_CHECK(num_classes >= 2, ConfigError, "[detection.roi_heads] num_classes ", num_classes,
           " must count the background and at least one class");
  register_module("box_head",
                  std::make_shared<TwoMLPHead>(in_channels * cfg.roi_size * cfg.roi_size,
                                               cfg.representation_size));
  register_module("box_predictor",
                  std::make_shared<FastRCNNPredictor>(cfg.representation_size, num_classes));
}

BoxPredictions StandardRoIHeads::predict(const FeatureList& features,
                                         const std::vector<Tensor>& rois, const ImageSizes& sizes) {
  Tensor pooled = pooler_(feature_map(features), rois, image_shapes(sizes));
  Tensor rep = child<TwoMLPHead>("box_head").forward(pooled);
  return child<FastRCNNPredictor>("box_predictor").predict(rep);
}

LossMap StandardRoIHeads::forward_train(const FeatureList& features,
                                        const std::vector<Tensor>& proposals,
                                        const ImageSizes& sizes,
                                        const std::vector<data::DetTarget>& targets) {
  RoiSamples s = sample_proposals(proposals, targets, cfg_, coder_);
  BoxPredictions p = predict(features, s.proposals, sizes);
  if (kd::tapping()) {
    kd::tap_boxes("roi.rois", s.proposals);
    kd::tap("roi.labels", cat(s.labels, 0));
    kd::tap("roi.cls_logits", p.scores);
    kd::tap("roi.box_regression", p.deltas);
  }
  auto l =
      fastrcnn_loss(p.scores, p.deltas, s.labels, s.regression_targets, cfg_.smooth_l1_beta, false);
  return {{"loss_classifier", l.first}, {"loss_box_reg", l.second}};
}

std::vector<Detections> StandardRoIHeads::forward_eval(const FeatureList& features,
                                                       const std::vector<Tensor>& proposals,
                                                       const ImageSizes& sizes,
                                                       const PostprocessConfig& post) {
  BoxPredictions p = predict(features, proposals, sizes);
  if (kd::tapping()) {
    kd::tap_boxes("roi.rois", proposals);
    kd::tap("roi.cls_logits", p.scores);
    kd::tap("roi.box_regression", p.deltas);
  }
  NoGradGuard ng;
  Tensor boxes = coder_.decode(p.deltas.detach(), proposals);
  Tensor scores = softmax(p.scores.detach(), -1);
  std::vector<int64_t> counts;
  for (const auto& pr : proposals) counts.push_back(pr.size(0));
  return postprocess_detections(scores, boxes, counts, sizes, post, cfg_.min_size);
}

}  // namespace detforge::detection

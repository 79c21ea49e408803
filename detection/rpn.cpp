#include "detection/rpn.h"

#include <algorithm>

#include "autograd/box_iou.h"
#include "autograd/elementwise.h"
#include "autograd/grad_mode.h"
#include "autograd/indexing.h"
#include "autograd/loss.h"
#include "autograd/nms.h"
#include "detection/balanced_sampler.h"
#include "detection/matcher.h"
#include "tensor/error.h"

namespace detforge::detection {

Tensor clip_boxes_to_image(const Tensor& boxes, int64_t height, int64_t width) {
  NoGradGuard ng;
  const int64_t d = boxes.dim() - 1;
  Tensor x1 = clamp(boxes.select(d, 0), 0.0, static_cast<double>(width));
  Tensor y1 = clamp(boxes.select(d, 1), 0.0, static_cast<double>(height));
  Tensor x2 = clamp(boxes.select(d, 2), 0.0, static_cast<double>(width));
  Tensor y2 = clamp(boxes.select(d, 3), 0.0, static_cast<double>(height));
  return stack({x1, y1, x2, y2}, d);
}

Tensor remove_small_boxes(const Tensor& boxes, double min_size) {
  // Host sync on CUDA (torchvision's torch.where).
  std::vector<float> b = boxes.to(DType::f32).to_vector<float>();
  const float m = static_cast<float>(min_size);
  std::vector<int64_t> keep;
  const int64_t n = boxes.numel() / 4;
  keep.reserve(n);
  for (int64_t i = 0; i < n; ++i) {
    const float w = b[4 * i + 2] - b[4 * i];
    const float h = b[4 * i + 3] - b[4 * i + 1];
    if (w >= m && h >= m) keep.push_back(i);
  }
  return Tensor::from_vector(keep, {static_cast<int64_t>(keep.size())}, boxes.device());
}

RegionProposalNetwork::RegionProposalNetwork(const RpnConfig& cfg, int64_t in_channels)
    : cfg_(cfg), anchors_(cfg.anchor_sizes, cfg.aspect_ratios), coder_({1, 1, 1, 1}) {
  auto apl = anchors_.num_anchors_per_location();
  DF_CHECK(
      !apl.empty() && std::all_of(apl.begin(), apl.end(), [&](int64_t a) { return a == apl[0]; }),
      ConfigError, "[detection.rpn] every level needs the same number of anchors per location");
  register_module("head", std::make_shared<RPNHead>(in_channels, apl[0], cfg.conv_depth));
}

RpnOutput RegionProposalNetwork::forward(const FeatureList& features, const Size2& padded_size,
                                         const ImageSizes& sizes,
                                         const std::vector<data::DetTarget>* targets) {
  const bool train = is_training();
  DF_CHECK(static_cast<int64_t>(features.size()) == anchors_.num_levels(), ShapeError,
           "[detection.rpn] ", features.size(), " feature levels but ", anchors_.num_levels(),
           " anchor levels");
  DF_CHECK(!train || targets, ConfigError, "[detection.rpn] train mode needs targets");
  std::vector<Tensor> feats = feature_tensors(features);
  RpnHeadOutput head = child<RPNHead>("head").forward(feats);
  const int64_t n_img = feats[0].size(0);
  DF_CHECK(static_cast<int64_t>(sizes.size()) == n_img, ShapeError, "[detection.rpn] ",
           sizes.size(), " image sizes for a batch of ", n_img);
  const Device dev = feats[0].device();

  std::vector<Size2> fsizes;
  std::vector<int64_t> per_level;
  std::vector<Tensor> obj_l, del_l;
  for (size_t l = 0; l < feats.size(); ++l) {
    const int64_t H = feats[l].size(2), W = feats[l].size(3);
    fsizes.push_back({H, W});
    const Tensor& o = head.objectness[l];
    const int64_t A = o.size(1);
    per_level.push_back(A * H * W);
    // [N, A, H, W] -> (N, H, W, A) flattened; deltas [N, 4A, H, W] -> (N, H, W, A, 4).
    obj_l.push_back(o.view({n_img, A, 1, H, W}).permute({0, 3, 4, 1, 2}).reshape({n_img, -1}));
    del_l.push_back(
        head.deltas[l].view({n_img, A, 4, H, W}).permute({0, 3, 4, 1, 2}).reshape({n_img, -1, 4}));
  }
  Tensor objectness = cat(obj_l, 1);               // [N, S]
  Tensor deltas = cat(del_l, 1).reshape({-1, 4});  // [N S, 4]
  const int64_t S = objectness.size(1);
  Tensor anchors = anchors_(padded_size, fsizes, feats[0].dtype(), dev);  // [S, 4]

  RpnOutput out;
  {
    NoGradGuard ng;
    std::vector<Tensor> anchor_list(n_img, anchors);
    Tensor proposals = coder_.decode(deltas.detach(), anchor_list).view({n_img, S, 4});
    Tensor obj = objectness.detach();
    const int64_t pre = train ? cfg_.pre_nms_top_n_train : cfg_.pre_nms_top_n_test;
    const int64_t post = train ? cfg_.post_nms_top_n_train : cfg_.post_nms_top_n_test;
    // Per-level top-n (indices into S), and each candidate's level.
    std::vector<Tensor> top_idx;
    std::vector<int64_t> lvl_host;
    int64_t off = 0;
    for (size_t l = 0; l < per_level.size(); ++l) {
      const int64_t k = std::min(pre, per_level[l]);
      Tensor idx = topk(obj.narrow(1, off, per_level[l]), k, 1).second;
      top_idx.push_back(add(idx, static_cast<double>(off)));
      lvl_host.insert(lvl_host.end(), k, static_cast<int64_t>(l));
      off += per_level[l];
    }
    Tensor idx = cat(top_idx, 1);  // [N, K]
    Tensor levels = Tensor::from_vector(lvl_host, {static_cast<int64_t>(lvl_host.size())}, dev);
    for (int64_t i = 0; i < n_img; ++i) {
      Tensor ii = idx.select(0, i).contiguous();
      Tensor boxes = index_select(proposals.select(0, i), 0, ii);
      Tensor scores = sigmoid(index_select(obj.select(0, i), 0, ii));
      Tensor lvl = levels;
      boxes = clip_boxes_to_image(boxes, sizes[i][0], sizes[i][1]);
      Tensor keep = remove_small_boxes(boxes, cfg_.min_size);
      boxes = index_select(boxes, 0, keep);
      scores = index_select(scores, 0, keep);
      lvl = index_select(lvl, 0, keep);
      // score >= score_thresh (float32 comparison as torch with a Python scalar); host sync.
      {
        std::vector<float> s = scores.to(DType::f32).to_vector<float>();
        const float th = static_cast<float>(cfg_.score_thresh);
        std::vector<int64_t> k2;
        for (size_t j = 0; j < s.size(); ++j)
          if (s[j] >= th) k2.push_back(static_cast<int64_t>(j));
        if (k2.size() != s.size()) {
          Tensor kt = Tensor::from_vector(k2, {static_cast<int64_t>(k2.size())}, dev);
          boxes = index_select(boxes, 0, kt);
          scores = index_select(scores, 0, kt);
          lvl = index_select(lvl, 0, kt);
        }
      }
      Tensor kept = batched_nms(boxes, scores, lvl, cfg_.nms_thresh);
      if (kept.numel() > post) kept = kept.narrow(0, 0, post);
      out.proposals.push_back(index_select(boxes, 0, kept));
      out.scores.push_back(index_select(scores, 0, kept));
    }
  }
  if (!train) return out;

  // ---- losses ----
  Matcher matcher(cfg_.fg_iou_thresh, cfg_.bg_iou_thresh, true);
  BalancedPositiveNegativeSampler sampler(cfg_.batch_size_per_image, cfg_.positive_fraction);
  std::vector<Tensor> labels, reg_targets;
  {
    NoGradGuard ng;
    for (int64_t i = 0; i < n_img; ++i) {
      const data::DetTarget& t = (*targets)[i];
      Tensor gt = t.boxes.to(dev, anchors.dtype());
      std::vector<float> lab(S, 0.f);
      Tensor matched_gt;
      if (gt.numel() == 0) {
        matched_gt = Tensor::zeros({S, 4}, anchors.dtype(), dev);
      } else {
        Tensor m = matcher(box_iou(gt, anchors));
        std::vector<int64_t> mh = m.to_vector<int64_t>();
        for (int64_t j = 0; j < S; ++j)
          lab[j] = mh[j] >= 0 ? 1.f : (mh[j] == Matcher::BETWEEN_THRESHOLDS ? -1.f : 0.f);
        matched_gt = index_select(gt, 0, clamp(m, 0.0, std::nullopt));
      }
      labels.push_back(Tensor::from_vector(lab, {S}, dev));
      reg_targets.push_back(coder_.encode_single(matched_gt, anchors));
    }
  }
  auto masks = sampler(labels);
  std::vector<int64_t> pos, sampled;
  for (int64_t i = 0; i < n_img; ++i) {
    std::vector<uint8_t> p = masks.first[i].to_vector<uint8_t>();
    std::vector<uint8_t> n = masks.second[i].to_vector<uint8_t>();
    for (int64_t j = 0; j < S; ++j)
      if (p[j]) pos.push_back(i * S + j);
    for (int64_t j = 0; j < S; ++j)
      if (n[j]) sampled.push_back(i * S + j);
  }
  const int64_t n_sampled = static_cast<int64_t>(pos.size() + sampled.size());
  sampled.insert(sampled.begin(), pos.begin(), pos.end());
  Tensor pos_t = Tensor::from_vector(pos, {static_cast<int64_t>(pos.size())}, dev);
  Tensor samp_t = Tensor::from_vector(sampled, {n_sampled}, dev);
  Tensor labels_all = cat(labels, 0);
  Tensor targets_all = cat(reg_targets, 0);
  Tensor box_loss =
      div(smooth_l1_loss(index_select(deltas, 0, pos_t), index_select(targets_all, 0, pos_t), "sum",
                         cfg_.smooth_l1_beta),
          static_cast<double>(std::max<int64_t>(n_sampled, 1)));
  Tensor obj_loss = binary_cross_entropy_with_logits(
      index_select(objectness.reshape({-1}), 0, samp_t), index_select(labels_all, 0, samp_t));
  out.losses = {{"loss_objectness", obj_loss}, {"loss_rpn_box_reg", box_loss}};
  return out;
}

}  // namespace detforge::detection

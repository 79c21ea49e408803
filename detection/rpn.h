// torchvision 0.14 RegionProposalNetwork (models/detection/rpn.py) over FPN levels:
// - head outputs per level are flattened in torchvision's order (image, level, y, x, anchor),
//   matching the AnchorGenerator's anchors;
// - proposals: deltas (detached) decoded with BoxCoder(1, 1, 1, 1); per level the pre_nms_top_n
//   highest objectness logits; per image: sigmoid, clip to the image (the unpadded size), remove
//   boxes narrower / shorter than min_size, keep scores >= score_thresh, NMS per level
//   (batched_nms with the level as class), keep the first post_nms_top_n;
// - losses (train): Matcher(fg, bg, low-quality matches) of anchors to ground truth, a balanced
//   sample of batch_size_per_image anchors, "loss_objectness" = BCE-with-logits (mean over the
//   sampled anchors) and "loss_rpn_box_reg" = smooth-L1 (beta, sum over sampled positives) /
//   number of sampled anchors.
// The index bookkeeping runs on the host (on CUDA: named host syncs, as torchvision's where/nms).
#pragma once
#include <array>
#include <memory>
#include <vector>

#include "detection/anchor_generator.h"
#include "detection/box_coder.h"
#include "detection/detector.h"
#include "detection/heads/rpn_head.h"
#include "detection/layers.h"

namespace detforge::detection {

struct RpnConfig {
  std::vector<std::vector<double>> anchor_sizes{{32}, {64}, {128}, {256}, {512}};
  std::vector<std::vector<double>> aspect_ratios{{0.5, 1.0, 2.0}};  // one list: every level
  int64_t pre_nms_top_n_train = 2000, pre_nms_top_n_test = 1000;    // per level
  int64_t post_nms_top_n_train = 2000, post_nms_top_n_test = 1000;  // per image
  double nms_thresh = 0.7;
  double fg_iou_thresh = 0.7, bg_iou_thresh = 0.3;
  int64_t batch_size_per_image = 256;
  double positive_fraction = 0.5;
  double score_thresh = 0.0;
  double min_size = 1e-3;
  double smooth_l1_beta = 1.0 / 9.0;
  int64_t conv_depth = 1;
};

// Helpers shared with the R-CNN heads (torchvision.ops.boxes semantics, no gradient).
// Clamps x to [0, width] and y to [0, height]; boxes [N, 4] (or [..., 4]).
DETFORGE_API Tensor clip_boxes_to_image(const Tensor& boxes, int64_t height, int64_t width);
// Indices (int64, boxes' device) of the boxes with width >= min_size and height >= min_size.
DETFORGE_API Tensor remove_small_boxes(const Tensor& boxes, double min_size);

struct RpnOutput {
  std::vector<Tensor> proposals;  // per image [P_i, 4], detached
  std::vector<Tensor> scores;     // per image [P_i] sigmoid objectness
  LossMap losses;                 // train mode only: loss_objectness, loss_rpn_box_reg
};

class DETFORGE_API RegionProposalNetwork : public nn::Cloneable<RegionProposalNetwork> {
 public:
  // Child "head": RPNHead(in_channels, anchors per location, conv_depth).
  RegionProposalNetwork(const RpnConfig& cfg, int64_t in_channels);
  std::string type_name() const override { return "RegionProposalNetwork"; }

  // features: the FPN levels (finest first), padded_size: the batch's (H, W), sizes: each
  // image's unpadded (h, w). targets are needed (and losses computed) in train mode only.
  RpnOutput forward(const FeatureList& features, const Size2& padded_size, const ImageSizes& sizes,
                    const std::vector<data::DetTarget>* targets = nullptr);

  const RpnConfig& config() const { return cfg_; }
  const AnchorGenerator& anchor_generator() const { return anchors_; }

 private:
  RpnConfig cfg_;
  AnchorGenerator anchors_;
  BoxCoder coder_;
};

}  // namespace detforge::detection

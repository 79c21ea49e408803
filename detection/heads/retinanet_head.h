// torchvision.models.detection.retinanet heads (0.14):
// - RetinaNetClassificationHead: "conv" = 4 x Conv2dNormActivation 3x3 + ReLU (optional norm, e.g.
//   GroupNorm(32) in RetinaNet v2; conv bias only without norm), "cls_logits" 3x3 -> A * K. Init:
//   convs N(0, 0.01) with zero bias, cls_logits bias -log((1 - p) / p), p = prior_probability.
// - RetinaNetRegressionHead: same "conv" tower, "bbox_reg" 3x3 -> A * 4, zero bias.
// - RetinaNetHead: "classification_head" + "regression_head".
// Per level [N, A * K, H, W] -> view [N, A, K, H, W] -> permute [N, H, W, A, K] -> [N, HWA, K];
// the levels are concatenated along dim 1 (anchor order: level, y, x, anchor).
#pragma once
#include "detection/layers.h"

namespace detforge::detection {

class DETFORGE_API RetinaNetClassificationHead : public nn::Cloneable<RetinaNetClassificationHead> {
 public:
  RetinaNetClassificationHead(int64_t in_channels, int64_t num_anchors, int64_t num_classes,
                              double prior_probability = 0.01, const NormFactory& norm = {});
  std::string type_name() const override { return "RetinaNetClassificationHead"; }
  Tensor forward_levels(const std::vector<Tensor>& features);  // [N, sum HWA, K]
  int64_t num_classes() const { return num_classes_; }

 private:
  int64_t num_anchors_, num_classes_;
};

class DETFORGE_API RetinaNetRegressionHead : public nn::Cloneable<RetinaNetRegressionHead> {
 public:
  RetinaNetRegressionHead(int64_t in_channels, int64_t num_anchors, const NormFactory& norm = {});
  std::string type_name() const override { return "RetinaNetRegressionHead"; }
  Tensor forward_levels(const std::vector<Tensor>& features);  // [N, sum HWA, 4]

 private:
  int64_t num_anchors_;
};

struct RetinaNetHeadOutput {
  Tensor cls_logits;       // [N, sum HWA, K]
  Tensor bbox_regression;  // [N, sum HWA, 4]
};

class DETFORGE_API RetinaNetHead : public nn::Cloneable<RetinaNetHead> {
 public:
  RetinaNetHead(int64_t in_channels, int64_t num_anchors, int64_t num_classes,
                const NormFactory& norm = {}, double prior_probability = 0.01);
  std::string type_name() const override { return "RetinaNetHead"; }
  RetinaNetHeadOutput forward(const std::vector<Tensor>& features);
};

// [N, A * K, H, W] -> [N, H * W * A, K] (torchvision's per-level layout).
DETFORGE_API Tensor flatten_level(const Tensor& x, int64_t k);

}  // namespace detforge::detection

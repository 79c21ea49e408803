// Fast R-CNN box head pieces of torchvision.models.detection.faster_rcnn (0.14):
// - TwoMLPHead: flatten [K, C, 7, 7] -> "fc6" -> ReLU -> "fc7" -> ReLU (representation [K, R]).
// - FastRCNNPredictor: "cls_score" [K, num_classes] and "bbox_pred" [K, 4 * num_classes] from
//   [K, R] (or [K, R, 1, 1]).
// Both keep nn.Linear's default init, as torchvision.
#pragma once
#include "detection/layers.h"

namespace detforge::detection {

class DETFORGE_API TwoMLPHead : public nn::Cloneable<TwoMLPHead> {
 public:
  // in_channels: the flattened size (C * 7 * 7).
  TwoMLPHead(int64_t in_channels, int64_t representation_size);
  std::string type_name() const override { return "TwoMLPHead"; }
  Tensor forward(const Tensor& box_features) override;
};

struct BoxPredictions {
  Tensor scores;  // [K, num_classes] logits
  Tensor deltas;  // [K, 4 * num_classes]
};

class DETFORGE_API FastRCNNPredictor : public nn::Cloneable<FastRCNNPredictor> {
 public:
  FastRCNNPredictor(int64_t in_channels, int64_t num_classes);
  std::string type_name() const override { return "FastRCNNPredictor"; }
  BoxPredictions predict(const Tensor& x);
};

}  // namespace detforge::detection

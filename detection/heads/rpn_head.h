// torchvision.models.detection.rpn.RPNHead (0.14): shared across levels, "conv" a Sequential of
// conv_depth Conv2dNormActivation 3x3 + ReLU blocks without norm ("conv.0.0.weight"), then
// "cls_logits" (1x1, A outputs) and "bbox_pred" (1x1, 4A outputs). Init: every conv N(0, 0.01),
// bias 0.
#pragma once
#include "detection/layers.h"

namespace detforge::detection {

struct RpnHeadOutput {
  std::vector<Tensor> objectness;  // per level [B, A, H, W]
  std::vector<Tensor> deltas;      // per level [B, 4A, H, W]
};

class DETFORGE_API RPNHead : public nn::Cloneable<RPNHead> {
 public:
  RPNHead(int64_t in_channels, int64_t num_anchors, int64_t conv_depth = 1);
  std::string type_name() const override { return "RPNHead"; }
  RpnHeadOutput forward(const std::vector<Tensor>& features);
  int64_t num_anchors() const { return num_anchors_; }

 private:
  int64_t in_channels_, num_anchors_;
};

}  // namespace detforge::detection

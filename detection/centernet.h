// CenterNet (Zhou et al. 2019, "Objects as Points"), the official ctdet semantics for the ResNet
// variant: backbone -> (optional FPN, P2 at stride 4) -> CenterNetHead (up-convolutions from C5
// when there is no neck) -> heatmap / wh / offset at output stride 4. docs/detectors.md, CenterNet.
//
// JSON ("model"):
//   {"type": "centernet", "backbone": {...build_backbone...},
//    "neck": "none" | {"type": "fpn", "in_levels": [2, 3, 4, 5], ...}   (P2, the first level),
//    "head": {"type": "centernet", "deconv_channels": [256, 128, 64] ([] with an FPN),
//             "head_conv": 64, "heatmap_bias": -2.19},
//    "num_classes": 80, "max_objs": 128, "min_overlap": 0.7,
//    "loss_weights": {"hm": 1, "wh": 0.1, "off": 1},
//    "postprocess": {"K": 100, "score_thresh": 0.0, "nms": false, "nms_thresh": 0.5}}
#pragma once
#include <memory>

#include "detection/backbone.h"
#include "detection/centernet_targets.h"
#include "detection/detector.h"
#include "detection/module_config.h"

namespace detforge::detection {

struct CenterNetOptions {
  int64_t num_classes = 80;
  int64_t max_objs = 128;
  double min_overlap = 0.7;
  double hm_weight = 1.0, wh_weight = 0.1, off_weight = 1.0;
  int64_t topk = 100;         // K of the decoder
  double score_thresh = 0.0;  // keep score > score_thresh
  bool nms = false;           // per-class NMS after decoding (off, as the paper)
  double nms_thresh = 0.5;
};

// RegL1Loss (official): pred [B, 2, H, W] gathered at index [B, K] (y * W + x), target [B, K, 2],
// mask [B, K]: sum |pred * m - target * m| / (2 * sum(mask) + 1e-4).
DETFORGE_API Tensor centernet_reg_l1_loss(const Tensor& pred, const Tensor& index,
                                          const Tensor& mask, const Tensor& target);

// The ctdet decoder: heat = sigmoid(logits); peaks where the 3x3 max-pool (padding -inf) equals
// heat, other positions score 0; top-K over all classes and positions (descending score, ties by
// ascending flat (class, y, x) index; fewer when K exceeds the candidates), then score >
// score_thresh; boxes = ((x + off_x) -+ w / 2, (y + off_y) -+ h / 2) * stride, clipped to the image
// (sizes: (height, width)); labels = class + 1. CPU results.
DETFORGE_API std::vector<Detections> centernet_decode(const Tensor& heatmap_logits,
                                                      const Tensor& wh, const Tensor& offset,
                                                      const ImageSizes& sizes, int64_t K,
                                                      double score_thresh, int64_t stride);

class DETFORGE_API CenterNet : public nn::Cloneable<CenterNet, Detector> {
 public:
  // neck: NeckConfig of type "none" or "fpn".
  CenterNet(std::shared_ptr<Backbone> backbone, const NeckConfig& neck, const HeadConfig& head,
            const CenterNetOptions& options);
  std::string type_name() const override { return "CenterNet"; }

  CenterNetOutput predict(const Tensor& images);
  LossMap forward_train(const Tensor& images, const ImageSizes& sizes,
                        const std::vector<data::DetTarget>& targets) override;
  std::vector<Detections> forward_eval(const Tensor& images, const ImageSizes& sizes) override;
  int64_t num_classes() const override { return opt_.num_classes; }
  int64_t output_stride() const { return stride_; }
  const CenterNetOptions& options() const { return opt_; }

 private:
  CenterNetOptions opt_;
  std::vector<int64_t> in_levels_;  // FPN input levels; empty without a neck
  int64_t stride_ = 4;
};

DETFORGE_API std::shared_ptr<Detector> build_centernet(const nlohmann::json& model,
                                                       const std::string& path = "model");

}  // namespace detforge::detection

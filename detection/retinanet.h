// RetinaNet (Lin et al. 2017) with torchvision 0.14's semantics (models/detection/retinanet.py)
// and parameter names: "backbone.body.*" (the backbone network), "backbone.fpn.*" (FPN with the
// P6/P7 extra block), "head.classification_head.*", "head.regression_head.*", so a torchvision
// RetinaNet state dict with the same backbone loads strictly. Config schema: docs/detectors.md,
// "RetinaNet"; registered as detector type "retinanet".
//
// Classes: our labels are 1..C (data::DetTarget); the classification head has C columns and
// column c predicts label c + 1. A torchvision model built with num_classes = C has the same
// layout with its labels 0..C-1 (torchvision's RetinaNet gives index 0 no special meaning), so our
// label = torchvision's label + 1. (A torchvision COCO checkpoint, 91 columns, loads with
// "num_classes": 91; its category id is then our label - 1.)
//
// The images are the padded batch; anchors are generated for the padded size (torchvision's
// ImageList.tensors), boxes are clipped to each image's size before padding.
#pragma once
#include <memory>
#include <string>

#include "detection/anchor_generator.h"
#include "detection/backbone.h"
#include "detection/box_coder.h"
#include "detection/detector.h"
#include "detection/matcher.h"

namespace detforge::detection {

struct RetinaNetConfig {
  int64_t num_classes = 80;  // C, background excluded
  // Anchors: per level base size x 2^(k / scales_per_octave), k < scales_per_octave, truncated
  // to integers as torchvision (32 -> 32, 40, 50); ratios = height / width.
  std::vector<double> anchor_sizes{32, 64, 128, 256, 512};
  int64_t scales_per_octave = 3;
  bool truncate_scales = true;
  std::vector<double> aspect_ratios{0.5, 1.0, 2.0};
  // "iou": torchvision's Matcher (fg / bg thresholds, low-quality matches); "atss": adaptive
  // training sample selection (detection/atss_assigner.h) with atss_topk candidates per level.
  std::string matcher = "iou";
  double fg_iou_thresh = 0.5, bg_iou_thresh = 0.4;
  bool allow_low_quality_matches = true;
  int64_t atss_topk = 9;
  double focal_alpha = 0.25, focal_gamma = 2.0;
  std::string box_loss = "l1";  // "l1" | "smooth_l1" | "giou" | "diou" | "ciou"
  double smooth_l1_beta = 1.0;  // torchvision's default (cnf absent)
  double iou_loss_eps = 1e-7;
  double score_thresh = 0.05, nms_thresh = 0.5;
  int64_t topk_candidates = 1000, detections_per_img = 300;
};

// Parses every key except "backbone", "neck", "head" (read by the builder); errors name key paths.
DETFORGE_API RetinaNetConfig parse_retinanet_config(const nlohmann::json& model,
                                                    const std::string& path = "model");

// Raw outputs of one forward pass (for tests and distillation).
struct RetinaNetOutputs {
  Tensor cls_logits;       // [N, A_total, C]
  Tensor bbox_regression;  // [N, A_total, 4]
  Tensor anchors;          // [A_total, 4] for the padded image size
  std::vector<int64_t> anchors_per_level;
};

class DETFORGE_API RetinaNet : public nn::Cloneable<RetinaNet, Detector> {
 public:
  // backbone: its children become "backbone.*"; the FPN is added to it as child "fpn"
  // (torchvision's BackboneWithFPN layout). A ResNet body's unused classifier "fc" is replaced by
  // a parameter-free Identity, as torchvision's IntermediateLayerGetter drops it.
  RetinaNet(std::shared_ptr<Backbone> backbone, std::shared_ptr<nn::Module> fpn,
            std::vector<int64_t> fpn_in_levels, std::shared_ptr<nn::Module> head,
            RetinaNetConfig cfg);
  std::string type_name() const override { return "RetinaNet"; }

  LossMap forward_train(const Tensor& images, const ImageSizes& sizes,
                        const std::vector<data::DetTarget>& targets) override;
  std::vector<Detections> forward_eval(const Tensor& images, const ImageSizes& sizes) override;
  int64_t num_classes() const override { return cfg_.num_classes; }

  RetinaNetOutputs forward_raw(const Tensor& images);
  // torchvision's compute_loss: {"classification", "bbox_regression"}.
  LossMap compute_loss(const RetinaNetOutputs& out, const std::vector<data::DetTarget>& targets);
  // torchvision's postprocess_detections (labels 1..C).
  std::vector<Detections> postprocess_detections(const RetinaNetOutputs& out,
                                                 const ImageSizes& sizes) const;

  const RetinaNetConfig& config() const { return cfg_; }
  const AnchorGenerator& anchor_generator() const { return anchors_; }

 private:
  RetinaNetConfig cfg_;
  std::vector<int64_t> in_levels_;
  AnchorGenerator anchors_;
  BoxCoder coder_;
  Matcher matcher_;
};

}  // namespace detforge::detection

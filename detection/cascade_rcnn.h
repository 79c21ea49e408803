// Cascade R-CNN (Cai & Vasconcelos 2018) with mmdetection 2.x's cascade_rcnn semantics on the
// two-stage FPN detector (backbone, FPN and RPN of detection/faster_rcnn.h), registered as
// "cascade_rcnn". 2..4 stages, each a TwoMLPHead + box predictor over MultiScaleRoIAlign:
// - stage i samples its RoIs with Matcher(t_i, t_i) (IoU thresholds 0.5, 0.6, 0.7 by default),
//   GT appended to the proposals, the balanced sampler (512 / 0.25), and regresses with BoxCoder
//   weights w_i ((10, 10, 5, 5), (20, 20, 10, 10), (30, 30, 15, 15)), class-agnostic by default;
// - losses "s<i>.loss_classifier" / "s<i>.loss_box_reg" (fastrcnn_loss of roi_heads.h, shared
//   with Faster R-CNN) scaled by the stage loss weights (1, 0.5, 0.25), then the RPN losses;
// - training: the stage's sampled RoIs, minus the appended GT boxes, are refined with the stage's
//   (detached) regression (class-specific: the positives' GT class, else the best foreground
//   class, as mmdetection's refine_bboxes), clipped to the image, and become the next stage's
//   proposals (which append the GT again);
// - eval: RoIs are refined stage by stage; the class logits are averaged over the stages (then
//   softmax, as mmdetection's simple_test), the boxes are the last stage's regression.
// Parameters: roi_heads.box_head.<i>.{fc6,fc7}, roi_heads.box_predictor.<i>.{cls_score,bbox_pred}.
#pragma once
#include "detection/faster_rcnn.h"

namespace detforge::detection {

struct CascadeConfig {
  RoIHeadsConfig base;  // sampling sizes, pooler, representation; fg/bg/weights per stage below
  std::vector<double> iou_thresholds{0.5, 0.6, 0.7};
  std::vector<std::array<double, 4>> bbox_reg_weights{
      {10, 10, 5, 5}, {20, 20, 10, 10}, {30, 30, 15, 15}};
  std::vector<double> loss_weights{1.0, 0.5, 0.25};
  bool class_agnostic = true;
  CascadeConfig() { base.smooth_l1_beta = 1.0; }  // mmdetection's SmoothL1Loss(beta=1.0)
  int64_t num_stages() const { return static_cast<int64_t>(iou_thresholds.size()); }
};

// cls_score Linear(R, C + 1), bbox_pred Linear(R, 4) (class-agnostic) or Linear(R, 4 (C + 1)).
class DETFORGE_API CascadeBoxPredictor : public nn::Cloneable<CascadeBoxPredictor> {
 public:
  CascadeBoxPredictor(int64_t in_channels, int64_t num_classes, bool class_agnostic);
  std::string type_name() const override { return "CascadeBoxPredictor"; }
  BoxPredictions predict(const Tensor& x);
};

class DETFORGE_API CascadeRoIHeads : public nn::Cloneable<CascadeRoIHeads, RoIHeadsBase> {
 public:
  // num_classes includes the background.
  CascadeRoIHeads(const CascadeConfig& cfg, int64_t in_channels, int64_t num_classes);
  std::string type_name() const override { return "CascadeRoIHeads"; }

  LossMap forward_train(const FeatureList& features, const std::vector<Tensor>& proposals,
                        const ImageSizes& sizes,
                        const std::vector<data::DetTarget>& targets) override;
  std::vector<Detections> forward_eval(const FeatureList& features,
                                       const std::vector<Tensor>& proposals,
                                       const ImageSizes& sizes,
                                       const PostprocessConfig& post) override;
  // Eval: the RoIs each stage sees (entry 0 = the proposals), per image.
  std::vector<std::vector<Tensor>> stage_rois(const FeatureList& features,
                                              const std::vector<Tensor>& proposals,
                                              const ImageSizes& sizes);
  const CascadeConfig& config() const { return cfg_; }
  // The first stage's predictions on the given RoIs (distillation).
  BoxPredictions predict_rois(const FeatureList& features, const std::vector<Tensor>& rois,
                              const ImageSizes& sizes) override {
    return predict(0, features, rois, sizes);
  }
  RoIHeadsConfig stage_config(int64_t stage) const;

 private:
  BoxPredictions predict(int64_t stage, const FeatureList& features,
                         const std::vector<Tensor>& rois, const ImageSizes& sizes);
  // Decoded boxes [N, 4] of the regression column given per RoI (agnostic: the only one).
  std::vector<Tensor> refine(int64_t stage, const BoxPredictions& p,
                             const std::vector<Tensor>& rois, const std::vector<Tensor>& labels,
                             const ImageSizes& sizes) const;

  CascadeConfig cfg_;
  int64_t num_classes_;
  MultiScaleRoIAlign pooler_;
};

class DETFORGE_API CascadeRCNN : public nn::Cloneable<CascadeRCNN, TwoStageDetector> {
 public:
  CascadeRCNN(std::shared_ptr<Backbone> backbone, const NeckConfig& neck, const RpnConfig& rpn,
              const CascadeConfig& cascade, int64_t num_classes);
  std::string type_name() const override { return "CascadeRCNN"; }
  CascadeRoIHeads& roi_heads() { return child<CascadeRoIHeads>("roi_heads"); }
};

DETFORGE_API std::shared_ptr<Detector> build_cascade_rcnn(const nlohmann::json& model,
                                                          const std::string& path);

}  // namespace detforge::detection

// Two-stage FPN detectors: torchvision 0.14's FasterRCNN (models/detection/faster_rcnn.py,
// generalized_rcnn.py) without GeneralizedRCNNTransform (the data pipeline normalises, resizes and
// pads; boxes stay in network-input pixels). Children as torchvision, so a torchvision
// fasterrcnn state dict with the same backbone loads strictly:
//   backbone.body.* (the Backbone's network), backbone.fpn.* (FPN, "maxpool" extra),
//   rpn.head.*, roi_heads.box_head.*, roi_heads.box_predictor.*
// Registered as "faster_rcnn" (docs/detectors.md has the JSON schema). Cascade R-CNN
// (detection/cascade_rcnn.h) shares TwoStageDetector (backbone, FPN, RPN).
#pragma once
#include <memory>

#include <nlohmann/json.hpp>

#include "detection/backbone.h"
#include "detection/fpn.h"
#include "detection/module_config.h"
#include "detection/roi_heads.h"
#include "detection/rpn.h"
#include "nn/json_reader.h"

namespace detforge::detection {

// Backbone, FPN and RPN; "backbone" is the Backbone module (its "body" child) with the FPN
// registered into it as "fpn".
class DETFORGE_API TwoStageDetector : public Detector {
 public:
  TwoStageDetector(std::shared_ptr<Backbone> backbone, const NeckConfig& neck, const RpnConfig& rpn,
                   int64_t num_classes);
  // FPN outputs ("0".."3", "pool") of a padded batch.
  FeatureList extract_features(const Tensor& images);
  RegionProposalNetwork& rpn() { return child<RegionProposalNetwork>("rpn"); }
  Backbone& backbone() { return child<Backbone>("backbone"); }
  int64_t num_classes() const override { return num_classes_; }
  int64_t fpn_channels() const { return fpn_channels_; }
  // Backbone + FPN -> RPN proposals -> the "roi_heads" child (an RoIHeadsBase). Losses: the
  // heads' terms then the RPN's (torchvision's dict order for Faster R-CNN: loss_classifier,
  // loss_box_reg, loss_objectness, loss_rpn_box_reg).
  LossMap forward_train(const Tensor& images, const ImageSizes& sizes,
                        const std::vector<data::DetTarget>& targets) override;
  std::vector<Detections> forward_eval(const Tensor& images, const ImageSizes& sizes) override;

 protected:
  NeckConfig neck_;
  int64_t num_classes_;
  int64_t fpn_channels_;
};

class DETFORGE_API FasterRCNN : public nn::Cloneable<FasterRCNN, TwoStageDetector> {
 public:
  // num_classes: foreground classes C (the predictor has C + 1 outputs, background 0).
  FasterRCNN(std::shared_ptr<Backbone> backbone, const NeckConfig& neck, const RpnConfig& rpn,
             const RoIHeadsConfig& roi, int64_t num_classes);
  std::string type_name() const override { return "FasterRCNN"; }
  StandardRoIHeads& roi_heads() { return child<StandardRoIHeads>("roi_heads"); }
};

// JSON pieces shared by the two-stage families (errors name key paths, "[detector.<family>]").
// "neck" defaults to {"type": "fpn", "extra": "maxpool"} (torchvision's BackboneWithFPN).
DETFORGE_API NeckConfig parse_two_stage_neck(const nlohmann::json& model, const std::string& path);
// model["rpn"]; path: the model's key path.
DETFORGE_API RpnConfig parse_rpn_config(const nlohmann::json& model, const std::string& path);
// The model keys every two-stage family shares (allowed keys checked, num_classes and backbone
// required): the built backbone, neck and RPN configs.
struct TwoStageParts {
  int64_t num_classes = 0;
  std::shared_ptr<Backbone> backbone;
  NeckConfig neck;
  RpnConfig rpn;
};
DETFORGE_API TwoStageParts parse_two_stage_parts(const nlohmann::json& model,
                                                 const std::string& path, const char* who);
// Reads the "roi_heads" keys common to Faster and Cascade R-CNN from r (the caller checks the
// allowed keys).
DETFORGE_API RoIHeadsConfig parse_roi_heads_config(const nn::JsonReader& r);
DETFORGE_API PostprocessConfig parse_postprocess(const nlohmann::json& model,
                                                 const std::string& path);  // "postprocess"
DETFORGE_API std::shared_ptr<Detector> build_faster_rcnn(const nlohmann::json& model,
                                                         const std::string& path);

}  // namespace detforge::detection

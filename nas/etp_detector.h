// The Elastic Teacher Pool (ETP) of Joint-DetNAS (joint-detnas.txt 3.1): one two-stage FPN
// detector supernet whose subnets are the teachers. Registered as detector type
// "etp_faster_rcnn" so `detforge train` / `detforge etp train` build it from JSON (docs/etp.md).
//
//   backbone   nn::ElasticResNet (depth per stage, width multiplier per stage; Joint-DetNAS's space
//              by default: depths {2,3} x {2,3,4} x {2..23} x {2,3}, widths {1.0, 1.25, 1.5})
//   neck       detection::ElasticFPN (width multipliers {1.0, 1.25, 1.5} of out_channels)
//   rpn        torchvision's RPN; its head convs are elastic: the FPN's active width C out (the
//              anchor outputs stay whole). The RPN gets the FPN levels zero-padded to the maximal
//              width (the static RPNHead checks its input width), which computes exactly what a
//              static head on the C active channels computes: the padded channels add zeros.
//   roi_heads  torchvision's TwoMLPHead + FastRCNNPredictor; fc6 is elastic in its input (C*7*7,
//              a prefix because the pooled features flatten channel-major)
//
// Architectures are nn::ArchConfig with five stages: the four backbone stages, then one "FPN
// stage" whose width_mult is the FPN width (depth 1), so nn::SearchSpace sampling and the
// progressive-shrinking schedules of nas/ work unchanged. The user-facing JSON form is
// {"backbone": <ArchConfig of the 4 stages>, "fpn_width": 1.25} (etp_arch_to_json / _from_json).
//
// extract(arch) returns a plain FasterRCNN (backbone type "static_resnet", a static FPN of the
// active width) with every tensor the leading slice of the same-named supernet tensor, together
// with its model JSON (static_model_json), so `detforge eval` / `train` accept it; in eval mode
// its outputs equal the supernet's with arch active.
#pragma once
#include <memory>

#include <nlohmann/json.hpp>

#include "detection/faster_rcnn.h"
#include "nn/elastic/elastic_resnet.h"

namespace detforge::nas {

class DETFORGE_API EtpFasterRCNN : public nn::Cloneable<EtpFasterRCNN, detection::FasterRCNN> {
 public:
  // model: the "etp_faster_rcnn" JSON it was built from (kept for static_model_json).
  EtpFasterRCNN(const nn::ElasticResNetOptions& backbone, const detection::NeckConfig& neck,
                const detection::RpnConfig& rpn, const detection::RoIHeadsConfig& roi,
                int64_t num_classes, nlohmann::json model);
  std::string type_name() const override { return "EtpFasterRCNN"; }

  // Backbone stages + the FPN stage (see above).
  const nn::SearchSpace& space() const { return space_; }
  // ConfigError "[nas.EtpFasterRCNN] stages[2].depth: 7 not in {2, 3}" outside space().
  void set_active(const nn::ArchConfig& arch);
  const nn::ArchConfig& active() const { return active_; }
  nn::ArchConfig largest() const { return space_.largest(); }
  nn::ArchConfig smallest() const { return space_.smallest(); }

  // Backbone C2..C5 -> the elastic FPN at the active width (hides TwoStageDetector's).
  detection::FeatureList extract_features(const Tensor& images);
  // The FPN levels zero-padded to the maximal width: the RPN's input (see below).
  detection::FeatureList rpn_input(const detection::FeatureList& features) const;
  // As TwoStageDetector's, on the elastic FPN.
  detection::LossMap forward_train(const Tensor& images, const detection::ImageSizes& sizes,
                                   const std::vector<data::DetTarget>& targets) override;
  std::vector<detection::Detections> forward_eval(const Tensor& images,
                                                  const detection::ImageSizes& sizes) override;

  // The static detector of arch (weights copied, train/eval mode and postprocess as this one);
  // the active arch is left unchanged.
  std::shared_ptr<detection::FasterRCNN> extract(const nn::ArchConfig& arch);
  // Its "faster_rcnn" model JSON (build_detector gives the same structure).
  nlohmann::json static_model_json(const nn::ArchConfig& arch) const;

  nn::ElasticResNet& body();
  detection::ElasticFPN& fpn();
  int64_t fpn_width_channels(double multiplier) const;

 private:
  nlohmann::json model_;
  detection::NeckConfig elastic_neck_;
  nn::SearchSpace space_;
  nn::ArchConfig active_;
};

// {"backbone": ArchConfig JSON (4 stages), "fpn_width": w}; also accepts the 5-stage ArchConfig
// JSON itself. ConfigError naming `path` keys.
DETFORGE_API nn::ArchConfig etp_arch_from_json(const nlohmann::json& j,
                                               const std::string& path = "arch");
DETFORGE_API nlohmann::json etp_arch_to_json(const nn::ArchConfig& arch);
// "largest" | "smallest" | inline JSON | a path to a JSON file, resolved against det's space.
DETFORGE_API nn::ArchConfig parse_etp_arch_arg(const std::string& arg, const EtpFasterRCNN& det);

// The "etp_faster_rcnn" builder (registered with the detector registry).
DETFORGE_API std::shared_ptr<detection::Detector> build_etp_faster_rcnn(const nlohmann::json& model,
                                                                        const std::string& path);

}  // namespace detforge::nas

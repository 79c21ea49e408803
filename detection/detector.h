// The detector interface every family implements (two-stage FPN, cascade, RetinaNet, CenterNet)
// and the registry that builds one from a JSON config (docs/detectors.md).
//
// Inputs are a collated data::DetBatch: images f32 [B, 3, H, W], normalised and zero-padded
// bottom/right to a multiple of size_divisor(); sizes = each image's (height, width) before
// padding; targets' boxes are xyxy pixels of the resized image, labels 1..C.
#pragma once
#include <array>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/det_sample.h"
#include "nn/module.h"

namespace detforge::detection {

using ImageSizes = std::vector<std::array<int64_t, 2>>;  // (height, width) before padding

// One image's detections in network-input pixels (the resized image, before padding): callers map
// them back to the original image with data::DetTarget's scale_x / scale_y.
struct Detections {
  Tensor boxes;   // f32 [n, 4] xyxy
  Tensor scores;  // f32 [n], descending
  Tensor labels;  // i64 [n], 1..C
};

// Named losses in a fixed order (torchvision's names where it has them); the training loss is
// their sum.
using LossMap = std::vector<std::pair<std::string, Tensor>>;
DETFORGE_API Tensor total_loss(const LossMap& losses);

// Inference settings common to the families (torchvision's box_score_thresh / box_nms_thresh /
// box_detections_per_img; RetinaNet's score_thresh / nms_thresh / detections_per_img).
struct PostprocessConfig {
  double score_thresh = 0.05;
  double nms_thresh = 0.5;
  int64_t max_detections = 100;
};

class DETFORGE_API Detector : public nn::Module {
 public:
  // Train mode: the losses (the module must be in train mode).
  virtual LossMap forward_train(const Tensor& images, const ImageSizes& sizes,
                                const std::vector<data::DetTarget>& targets) = 0;
  // Eval mode: per-image detections, B entries.
  virtual std::vector<Detections> forward_eval(const Tensor& images, const ImageSizes& sizes) = 0;
  virtual int64_t num_classes() const = 0;  // C, background excluded
  virtual int64_t size_divisor() const { return 32; }
  PostprocessConfig postprocess;
};

// Registry: "type" of the config's "model" object -> builder. Families register themselves (one
// DF_REGISTER_DETECTOR per family file); build_detector validates and reports key paths.
using DetectorBuilder =
    std::function<std::shared_ptr<Detector>(const nlohmann::json& model, const std::string& path)>;
DETFORGE_API void register_detector(const std::string& type, DetectorBuilder builder);
DETFORGE_API std::shared_ptr<Detector> build_detector(const nlohmann::json& model,
                                                      const std::string& path = "model");
DETFORGE_API std::vector<std::string> detector_types();

}  // namespace detforge::detection

#define DF_DETECTOR_CONCAT2(a, b) a##b
#define DF_DETECTOR_CONCAT(a, b) DF_DETECTOR_CONCAT2(a, b)
// At namespace scope in the family's .cpp: DF_REGISTER_DETECTOR("retinanet", build_retinanet);
#define DF_REGISTER_DETECTOR(type, builder)                                      \
  static const bool DF_DETECTOR_CONCAT(df_detector_registered_, __LINE__) = [] { \
    ::detforge::detection::register_detector(type, builder);                     \
    return true;                                                                 \
  }()

// The Joint-DetNAS student as a detector: a two-stage detector ("faster_rcnn" JSON) whose backbone
// is a ResNet-family network written block by block ("static_resnet"), so every morphed student
// is again a plain config + state dict that `detforge train` / `eval` accept.
//
// evolve_student applies one morphism action (nas/morphism/morphism.h) to the detector's
// backbone network ("backbone.body") and rebuilds the detector from the new model JSON: the
// backbone inherits the morphed network's tensors, everything else (FPN, RPN, RoI heads) the old
// detector's. Actions that would change the backbone's output channels (channel_prune with
// prune_residual) are refused: the FPN is not part of the student's action space.
#pragma once
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "data/det_transforms.h"
#include "detection/detector.h"
#include "nas/morphism/morphism.h"

namespace detforge::nas {

struct Student {
  nlohmann::json model;                           // the "faster_rcnn" model JSON
  std::shared_ptr<detection::Detector> detector;  // built from `model`
};

// The base detector's model JSON with its backbone written as "static_resnet" (a torchvision
// "resnet18/34/50/101" backbone with BN is converted; "static_resnet" is kept). The state dict
// keys do not change. ConfigError naming `path` for other detector or backbone types.
DETFORGE_API nlohmann::json student_model_json(const nlohmann::json& model,
                                               const std::string& path = "base.model");

// Builds the student of `model` (student_model_json form) and loads `weights` when non-empty.
DETFORGE_API Student load_student(const nlohmann::json& model, const std::string& weights);

// f_evolve on the student's backbone (weight inheritance), the rest copied. `record` as f_evolve's.
DETFORGE_API Student evolve_student(const Student& s, const MorphAction& action,
                                    nlohmann::json* record = nullptr);

// MACs of the student's backbone + FPN (and of the backbone network alone) for one image of `size`
// (nas/profiler/flops.h's convention): C of the search's score, the summary's MAC columns.
struct StudentMacs {
  int64_t macs = 0, backbone_macs = 0;
};
DETFORGE_API StudentMacs student_macs(detection::Detector& det, const data::ResizeSize& size);

// Blocks per backbone stage ([2, 2, 2, 2]) and the block channels of a student model JSON.
DETFORGE_API std::vector<int64_t> student_depths(const nlohmann::json& model);

}  // namespace detforge::nas

namespace detforge::nas {

struct MorphStudentArgs {
  std::string config;   // a det-train config whose model is a student (see student_model_json)
  std::string weights;  // its weights
  std::vector<std::string> actions;  // MorphAction JSON strings, applied in order
  std::string out = "morph_out";
};

// `detforge search morph`: applies actions to a trained student and writes out/model.safetensors,
// out/config.json (the config with the morphed model, for eval / train --set
// train.init_weights=...) and out/morph.json (the morphism records, params and MACs before and
// after at the config's test_size).
DETFORGE_API void run_morph_student(const MorphStudentArgs& args);

}  // namespace detforge::nas

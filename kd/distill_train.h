// Teacher-student detector training behind `detforge distill --config FILE` (docs/distill.md):
// the det-train loop (detection/det_train.h) with a frozen teacher run on every batch and the
// distillation losses added to the student's detection losses.
//
// Config = a det-train config plus
//   "teacher": {"config": FILE or {...} (a det-train config or a model object; its "model" is
//               used), "weights": "teacher.safetensors", "train_bn": false}
//   "kd": {"type": "joint_detnas", "temperature": 1, "weights": {"feat": 1, "cls": 1, "loc": 1},
//          "roi_size": 7}
//      or {"type": "detkds", "distillers": [spec, ...]            one distiller set, or
//          "candidates": [[spec, ...], [spec, ...]],              sets tried in order,
//          "max_loss": 100, "seed": 0}
// DetKDS filter: when the current set's distillation loss (the sum of its terms) is NaN or exceeds
// max_loss on an iteration, the set is rejected (reported on stdout and as a log record
// {"event": "distiller_rejected", ...}), and the iteration is recomputed with the next set; when
// every set is rejected the run stops with a ConfigError.
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "detection/det_train.h"
#include "kd/distiller.h"

namespace detforge::kd {

struct DistillConfig {
  nlohmann::json teacher_model;
  std::string teacher_weights;
  bool teacher_train_bn = false;
  std::string type;  // joint_detnas | detkds
  JointDetnasOptions joint;
  std::vector<std::vector<DistillerSpec>> candidates;  // detkds
  double max_loss = 100;
  uint64_t seed = 0;
};

// Reads "teacher" and "kd" (ConfigError "[distill] <key path>: ..."); the rest is det-train's.
DETFORGE_API DistillConfig parse_distill_config(const nlohmann::json& raw);
// The raw config without "teacher" and "kd" (after checking both are present).
DETFORGE_API nlohmann::json det_train_part(const nlohmann::json& raw);

DETFORGE_API void run_distill_training(const detection::DetTrainArgs& args);

}  // namespace detforge::kd

// `detforge search joint`: Joint-DetNAS end to end (joint-detnas.txt 3.1-3.3, Algorithm 1;
// docs/search_joint.md). Given a base two-stage detector (a trained checkpoint, or a config it
// trains first) and an elastic teacher pool (trained, or a config it trains first), hill climbing
// evolves student-teacher pairs: each step takes a pair from the top-k list and either applies a
// student morphism action (weight inheritance) or mutates the teacher (re-extracted from the ETP,
// BN recalibrated), trains the student for a few iterations with the Joint-DetNAS KD losses,
// BN sparsity and dynamic resolution, evaluates it at every resolution and scores it with H.
//
// Everything lives under --out; state.json is rewritten (atomically) after every evaluated
// candidate, so a killed search started again with the same --out resumes where it stopped and
// ends with the same student as an uninterrupted run: every random choice of iteration t comes
// from a generator seeded with (search.seed, t), every candidate's training is seeded with
// (search.seed, t), and an unfinished candidate is run again from its (kept) parent. Only the
// top-k entries' weights (and the base's) are kept on disk.
//
//   out/search_config.json  the search config as given (a different one on resume: error);
//   out/resolved_config.json the base and ETP configs as read (changed files on resume: error)
//   out/base/, out/etp/     the base and ETP training runs (when trained here; resumable)
//   out/teachers/<key>/     sampled teachers in use (static detector, config, arch)
//   out/candidates/<id>/    a candidate's training run (log, loss.png); model.safetensors while it
//                           is in the top-k
//   out/state.json, out/candidates.jsonl (every candidate), out/final/ (the best student:
//   model.safetensors, arch.json, config.json for detforge eval / train), out/summary.{md,json},
//   out/score.png, out/flops_map.png, out/capacity.png
#pragma once
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/det_transforms.h"
#include "nas/search/hill_climbing.h"

namespace detforge::nas {

struct JointSearchConfig {
  nlohmann::json base_config;  // det-train config of the base detector (model: student form)
  std::string base_weights;    // "" = train it under out/base
  nlohmann::json etp_config;   // etp train config
  std::string etp_weights;     // "" = train it under out/etp
  // search
  int64_t iterations = 20, top_k = 3, patience = 0;  // patience 0: run every iteration
  double alpha = 0.5, beta = 1.0, student_prob = 0.5;
  std::vector<data::ResizeSize> resolutions;  // default: the base config's test_size
  StudentActionOptions actions;
  uint64_t seed = 0;
  // fast evaluation
  int64_t fast_iters = 100;
  nlohmann::json fast_optim;  // merged over the base config's optim
  int64_t eval_images = 0;    // first N validation images; 0 = all
  double bn_sparsity = 1e-5;
  nlohmann::json kd{{"type", "joint_detnas"}};
  int64_t recalib_batches = -1;  // teacher BN recalibration batches; -1: the ETP config's
  int64_t latency_repeats = 20;
};

// ConfigError "[search] <key path>: ..." for a malformed config. Relative file paths are read
// against the working directory (as every detforge config).
DETFORGE_API JointSearchConfig parse_joint_search_config(const nlohmann::json& j);

struct JointSearchArgs {
  std::string config;  // optional when out/search_config.json exists (resume)
  std::string out = "search_out";
  std::vector<std::string> sets;  // KEY.PATH=VALUE overrides of the search config
};

DETFORGE_API void run_joint_search(const JointSearchArgs& args);

}  // namespace detforge::nas

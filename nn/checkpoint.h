// Pieces shared by the training commands (train-cls, train): JSON files, checkpoint directories
// {model.safetensors, optimizer.safetensors, state.json}, the default RNG's state, durations.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nn/module.h"
#include "nn/optim/optimizer.h"

namespace detforge::nn {

// Parses a JSON file: IOError when it cannot be opened, ConfigError "[who] path: invalid JSON".
DETFORGE_API nlohmann::json read_json_file(const std::string& path, const std::string& who);
// Applies command-line overrides "a.b.c=VALUE" to j in order (mmdetection's --cfg-options): VALUE
// is parsed as JSON when it is valid JSON ("3000", "[256, 256]", "true", "\"x\""), otherwise taken
// as a string ("adamw"). Missing objects on the path are created; a numeric key indexes an
// existing array. ConfigError "[who] --set 'a.b=1': ..." names the override and the bad key.
DETFORGE_API void apply_json_overrides(nlohmann::json& j, const std::vector<std::string>& sets,
                                       const std::string& who);
// A run's config: the JSON file `config_path` when given, else `resume_state["config"]` (a
// checkpoint's state.json; null when not resuming), then `sets` applied. ConfigError "[who]
// --config is required (or --resume a checkpoint)" when there is neither.
DETFORGE_API nlohmann::json load_run_config(const std::string& config_path,
                                            const nlohmann::json& resume_state,
                                            const std::vector<std::string>& sets,
                                            const std::string& who);
// Writes j (indented) to path + ".tmp", then renames it over path.
DETFORGE_API void write_json_file(const std::string& path, const nlohmann::json& j,
                                  const std::string& who);

// dir/model.safetensors (module state), dir/optimizer.safetensors, dir/state.json; dir is created.
DETFORGE_API void save_checkpoint(const std::string& dir, const Module& model,
                                  const Optimizer& optimizer, const nlohmann::json& state);
// Loads the model and optimizer of a checkpoint directory and returns its state.json.
DETFORGE_API nlohmann::json load_checkpoint(const std::string& dir, Module& model,
                                            Optimizer& optimizer, const std::string& who);
// Removes all but the newest `keep` directories <out>/<prefix><N> (by N); keep <= 0 keeps all.
DETFORGE_API void prune_checkpoints(const std::string& out, const std::string& prefix, int keep);
// The newest <out>/<prefix><N> holding a state.json (a complete checkpoint: save_checkpoint writes
// state.json last); "" when there is none.
DETFORGE_API std::string latest_checkpoint(const std::string& out, const std::string& prefix);

// The default generator's {seed, offset} and its restore.
DETFORGE_API nlohmann::json default_rng_state();
DETFORGE_API void set_default_rng_state(const nlohmann::json& state);

// "1h02m", "3m07s".
DETFORGE_API std::string format_duration(double seconds);

}  // namespace detforge::nn

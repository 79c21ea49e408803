// ArchConfig: one architecture of a search space as plain data, serialisable to / from JSON.
// It lives in nn/ (not nas/) because the elastic supernets in nn/ and detection/ take it in
// set_active (docs/DECISIONS.md D12); the SM-NAS backbone code parser is nas/smnas_code.h.
//
// JSON form (every key but "stages" optional; unknown keys are rejected):
//   {"block_type": "basic" | "bottleneck" | "xbottleneck" | "inverted_residual",
//    "input_resolution": 224, "base_channels": 56,
//    "stages": [{"depth": 2, "width_mult": 1.25, "channels": 128,
//                "expand_ratios": [0.25, 0.2], "kernel_sizes": [3, 5], "doubling": [true, false]}]}
// Per-block lists (expand_ratios, kernel_sizes, doubling) are empty or have `depth` entries.
// Validation errors are ConfigError("[nas.ArchConfig] <key path>: expected ..., got ..."), e.g.
// "[nas.ArchConfig] stages[2].depth: expected an integer >= 1, got -1".
//
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tensor/macros.h"

namespace detforge::nn {

struct StageConfig {
  int64_t depth = 1;
  double width_mult = 1.0;            // relative to the space's reference width
  int64_t channels = 0;               // absolute output channels; 0 = not set (derive from width)
  std::vector<double> expand_ratios;  // per block (OFA-ResNet E, MobileNet expand); may be empty
  std::vector<int64_t> kernel_sizes;  // per block (MobileNet space); odd, may be empty
  std::vector<bool> doubling;         // per block: SM-NAS '2' (channels doubled); may be empty
  bool operator==(const StageConfig& o) const;
  bool operator!=(const StageConfig& o) const { return !(*this == o); }
};

struct ArchConfig {
  // "basic" | "bottleneck" | "xbottleneck" (ResNeXt, SM-NAS) | "inverted_residual"
  std::string block_type = "basic";
  int64_t input_resolution = 224;
  int64_t base_channels = 0;  // SM-NAS base channels; 0 = not set
  std::vector<StageConfig> stages;

  // Throws ConfigError naming the key path of the first invalid field.
  void validate() const;
  int64_t total_blocks() const;
  bool operator==(const ArchConfig& o) const;
  bool operator!=(const ArchConfig& o) const { return !(*this == o); }
};

DETFORGE_API nlohmann::json arch_config_to_json(const ArchConfig& cfg);
// Validates types, ranges and keys; errors name the key path.
DETFORGE_API ArchConfig arch_config_from_json(const nlohmann::json& j);

// nlohmann ADL hooks (j = cfg; cfg = j.get<ArchConfig>()).
inline void to_json(nlohmann::json& j, const ArchConfig& c) {
  j = arch_config_to_json(c);
}
inline void from_json(const nlohmann::json& j, ArchConfig& c) {
  c = arch_config_from_json(j);
}

}  // namespace detforge::nn

// SearchSpace: the choices a supernet offers, per stage, as plain data. Supernets (ElasticResNet,
// the OFA-ResNet50 and MobileNet spaces) describe themselves with one; samplers and
// progressive-shrinking schedules (nas/) draw from it or from a narrowed copy of it.
//
// A stage choice list that is empty means "not searchable here" and the sampled StageConfig
// leaves that field at its default (width_mult 1, empty per-block lists). Per-block choices
// (expand ratios, kernel sizes) are drawn independently for every block of the sampled depth.
// Random draws use std::mt19937_64 with `rng() % n` so a seed gives the same architectures on every
// platform (std::uniform_int_distribution is implementation-defined).
#pragma once
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "nn/arch_config.h"

namespace detforge::nn {

struct StageChoices {
  std::vector<int64_t> depths;        // blocks in the stage
  std::vector<double> width_mults;    // stage width multiplier
  std::vector<double> expand_ratios;  // per block (bottleneck E, inverted-residual expand)
  std::vector<int64_t> kernel_sizes;  // per block (odd)
};

struct DETFORGE_API SearchSpace {
  std::string block_type = "basic";  // copied into sampled configs
  int64_t input_resolution = 224;    // copied into sampled configs
  std::vector<StageChoices> stages;

  // The largest / smallest choice of every field (max/min depth, width, expand, kernel).
  ArchConfig largest() const;
  ArchConfig smallest() const;
  // Uniform over every field independently.
  ArchConfig sample(std::mt19937_64& rng) const;
  // Rejection sampling: draws until accept(cfg) or max_tries draws, then throws ConfigError
  // ("[nn.SearchSpace] no architecture accepted in N draws").
  ArchConfig sample(std::mt19937_64& rng, const std::function<bool(const ArchConfig&)>& accept,
                    int max_tries = 1000) const;
  // Empty string if cfg lies in the space, else the first violation with its key path
  // ("stages[2].depth: 7 not in {2, 3, 4}").
  std::string violation(const ArchConfig& cfg) const;
  bool contains(const ArchConfig& cfg) const { return violation(cfg).empty(); }
  // Throws ConfigError("[<who>] <violation>") when cfg is outside the space.
  void check(const ArchConfig& cfg, const std::string& who) const;
  // Number of distinct architectures (as a double: spaces reach 10^20 and more).
  double size() const;
};

}  // namespace detforge::nn

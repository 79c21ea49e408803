// Subnet samplers for supernet training: which architectures of a (possibly narrowed) SearchSpace
// are trained in one step.
//
//   uniform   num_random configs drawn uniformly (SearchSpace::sample, every field independently)
//   sandwich  the sandwich rule (Yu & Huang, "Universally Slimmable Networks"; BigNAS):
//             [largest, smallest, num_random uniform draws], in that order, so the largest
//             subnet's logits are available as in-place distillation targets for the rest
//
// A space holding a single architecture (a progressive-shrinking "fullnet" phase) yields it once
// per step, without drawing from the rng, whatever the kind.
//
// Draws use a std::mt19937_64 owned by the sampler (seedable; its state round-trips through a
// string for checkpoints), and SearchSpace's `rng() % n` draws, so a seed gives the same
// architectures on every platform.
#pragma once
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nn/elastic/search_space.h"

namespace detforge::nas {

enum class SamplerKind { uniform, sandwich };

struct SamplerOptions {
  SamplerKind kind = SamplerKind::sandwich;
  int64_t num_random = 2;  // uniform: configs per step (>= 1); sandwich: extra random ones (>= 0)
};

// {"kind": "uniform" | "sandwich", "num_random": n}; ConfigError naming `path`.<key>.
DETFORGE_API SamplerOptions sampler_options_from_json(const nlohmann::json& j,
                                                      const std::string& path = "sampler");
DETFORGE_API nlohmann::json sampler_options_to_json(const SamplerOptions& o);
DETFORGE_API const char* sampler_kind_name(SamplerKind k);

class DETFORGE_API SubnetSampler {
 public:
  explicit SubnetSampler(SamplerOptions options = {}, uint64_t seed = 0);
  // The configs to train in one step, drawn from `space`.
  std::vector<nn::ArchConfig> sample(const nn::SearchSpace& space);
  // Subnets per step (for spaces with more than one architecture).
  int64_t subnets_per_step() const;
  const SamplerOptions& options() const { return opt_; }
  std::mt19937_64& rng() { return rng_; }
  // The engine state as text (operator<<), for checkpoints; set_rng_state throws ConfigError on
  // malformed text.
  std::string rng_state() const;
  void set_rng_state(const std::string& state);

 private:
  SamplerOptions opt_;
  std::mt19937_64 rng_;
};

}  // namespace detforge::nas

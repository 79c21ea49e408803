// The pieces of Joint-DetNAS's hill climbing (joint-detnas.txt Algorithm 1, section 3.1) that do
// not train anything: the score H, the top-k list, the teacher mutation and the student-action
// sampler. The driver (nas/search/joint_search.h) trains and evaluates the candidates.
//
// Score: H(S, R) = mAP(S, R) * [(C(S) / C_base) * (R / R_base)^beta]^(-alpha), C = MACs of the
// student's backbone + FPN at R_base (nas/profiler/flops.h's FLOPs = MACs convention), R the
// short side of the evaluation resolution. A candidate's score is max over the resolutions.
#pragma once
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nas/morphism/morphism.h"
#include "nn/arch_config.h"
#include "nn/elastic/search_space.h"

namespace detforge::nas {

DETFORGE_API double joint_score(double map, double macs, double base_macs, double resolution,
                                double base_resolution, double alpha, double beta);

// One evaluated student-teacher pair as the search keeps it (JSON in the search state).
struct SearchEntry {
  int64_t id = 0;         // candidate number (0: the base pair)
  double score = 0;       // max over resolutions of H
  nlohmann::json record;  // everything else (student model, teacher arch, metrics, history)
};

// The k best entries by score, best first; ties keep the earlier candidate first.
class DETFORGE_API TopKList {
 public:
  explicit TopKList(int64_t k = 1);
  // Inserts e when the list has room or e beats the worst entry; returns whether e is in the list
  // afterwards. `dropped` receives the id of an entry pushed out (-1 when none).
  bool offer(const SearchEntry& e, int64_t* dropped = nullptr);
  const std::vector<SearchEntry>& entries() const { return entries_; }
  const SearchEntry& best() const;  // ConfigError when empty
  bool contains(int64_t id) const;
  int64_t k() const { return k_; }
  nlohmann::json to_json() const;
  static TopKList from_json(const nlohmann::json& j);

 private:
  int64_t k_;
  std::vector<SearchEntry> entries_;
};

// A different architecture: one stage of `arch` (uniformly chosen among the stages with more than
// one choice) gets another depth or another width (a stage with one of them fixed changes the
// other); every value stays in `space`. ConfigError when the space has a single architecture.
DETFORGE_API nn::ArchConfig mutate_arch(const nn::ArchConfig& arch, const nn::SearchSpace& space,
                                        std::mt19937_64& rng);

struct StudentActionOptions {
  std::vector<MorphActionType> types{MorphActionType::kAddLayer, MorphActionType::kRearrange,
                                     MorphActionType::kLayerPrune, MorphActionType::kChannelPrune};
  double channel_prune_percent = 0.1;  // of the prunable channels, per channel_prune action
  // Rank channels within each block (every block loses the same share) instead of one global
  // ranking over all blocks (network slimming's threshold). Global ranking by |gamma| removes
  // whole early blocks when the gammas are not yet sparse (docs/results/search-joint-fmnist.md).
  bool channel_prune_per_layer = false;
  int64_t max_depth = 8;  // add_layer never grows a stage past this many blocks
};

// A uniformly drawn action type with uniformly drawn arguments that are valid for a backbone with
// these blocks per stage (add_layer below max_depth, rearrange / layer_prune off a stage with >= 2
// blocks); ConfigError when no enabled action applies.
DETFORGE_API MorphAction sample_student_action(const StudentActionOptions& o,
                                               const std::vector<int64_t>& depths,
                                               std::mt19937_64& rng);

// The search's random stream of iteration `iter`: a fresh generator seeded from (seed, iter), so a
// resumed search draws exactly what an uninterrupted one draws without saving generator state.
DETFORGE_API std::mt19937_64 iteration_rng(uint64_t seed, int64_t iter);

}  // namespace detforge::nas

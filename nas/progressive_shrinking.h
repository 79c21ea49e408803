// Progressive-shrinking schedules: a sequence of phases, each a narrowed copy of the supernet's
// SearchSpace, so training starts on the largest subnet and gradually admits smaller choices.
// Every choice list is ordered largest first and a phase keeps a prefix of it, so phases widen
// monotonically (phase p's space contains phase p-1's) and every phase contains the largest net.
//
// Phase tables for a space whose choice lists have n_K kernels, n_D depths (per stage; a stage
// with fewer choices is full sooner), n_E expand ratios and n_W widths:
//
//   none  one phase: the full space (plain sandwich / uniform supernet training).
//   ofa   OFA (Cai et al., ICLR 2020, "Once-for-All", Sec. 3.2 / Fig. 3): elastic kernel ->
//         elastic depth -> elastic expand/width, one dimension at a time, one choice added per
//         phase:  phase 0 largest only ("fullnet");  phases 1..n_K-1 add kernels 7 -> 5 -> 3;
//         then n_D-1 phases add depths (4 -> 3 -> 2); then n_E-1 phases add expand ratios; then
//         n_W-1 phases add width multipliers. DetOFA's OFA-PS tables (detofa.txt lines 396-401,
//         Table A1: W {1.0} -> {0.8, 1.0} -> {0.65, 0.8, 1.0}, then E {0.35} -> {0.25, 0.35} ->
//         {0.2, 0.25, 0.35}; epochs 70/5/65/5/65 in Table A2, lines 405-406) are this table with
//         D full from the start; pass such a space and the order {width, expand} to get them.
//   ips   Joint-DetNAS's Integrated Progressive Shrinking (joint-detnas.txt line 99: "In the first
//         phase, only the largest super-net is trained; In the following phases, subnets with
//         shrunk depths and widths are gradually added into the subnet space ... In contrast to
//         the progressive shrinking (PS) strategy proposed in [3], where the shrinkage of width and
//         depth are performed sequentially, we propose ... (IPS) to jointly optimize smaller depths
//         and widths"): phase 0 largest only; phase p >= 1 keeps the first min(p + 1, n) choices of
//         EVERY list (depth, width, expand, kernel together), so there are max(n) phases in all
//         instead of OFA's 1 + sum(n - 1). (The paper's appendix with the exact per-phase epochs
//         is not in our copy; epochs per phase are a config input.)
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nn/elastic/search_space.h"

namespace detforge::nas {

enum class ShrinkOrder { none, ofa, ips };
enum class ShrinkDim { kernel, depth, expand, width };

struct ShrinkPhase {
  std::string name;  // "fullnet", "kernel 2/3", "depth+width+... 1", ...
  nn::SearchSpace space;
};

// The space with every choice list sorted largest first and cut to its first `keep` entries
// (keep >= 1; lists shorter than keep are kept whole; empty lists stay empty).
DETFORGE_API nn::SearchSpace narrow_space(const nn::SearchSpace& full, ShrinkDim dim, int64_t keep);
DETFORGE_API nn::SearchSpace largest_only(const nn::SearchSpace& full);

// OFA order: `dims` in sequence (default kernel, depth, expand, width), one choice per phase.
DETFORGE_API std::vector<ShrinkPhase> ofa_phases(const nn::SearchSpace& full,
                                                 const std::vector<ShrinkDim>& dims = {
                                                     ShrinkDim::kernel, ShrinkDim::depth,
                                                     ShrinkDim::expand, ShrinkDim::width});
DETFORGE_API std::vector<ShrinkPhase> ips_phases(const nn::SearchSpace& full);
DETFORGE_API std::vector<ShrinkPhase> shrink_phases(const nn::SearchSpace& full, ShrinkOrder order);

// True when every choice list of `inner` is a subset of the matching list of `outer`.
DETFORGE_API bool space_within(const nn::SearchSpace& inner, const nn::SearchSpace& outer);

struct ShrinkOptions {
  ShrinkOrder order = ShrinkOrder::none;
  // Epochs per phase; the last phase also runs every epoch after the sum. Empty: the epochs are
  // split evenly over the phases (earlier phases get the remainder).
  std::vector<int64_t> phase_epochs;
  // OFA only: the dimensions shrunk, in order; the others are open from the first phase.
  std::vector<ShrinkDim> ofa_dims{ShrinkDim::kernel, ShrinkDim::depth, ShrinkDim::expand,
                                  ShrinkDim::width};
};
// {"order": "none" | "ofa" | "ips", "phase_epochs": [..],
//  "ofa_dims": ["kernel", "depth", "expand", "width"] (any order / subset; DetOFA: ["width",
//  "expand"])}; ConfigError naming `path`.<key>.
DETFORGE_API ShrinkOptions shrink_options_from_json(const nlohmann::json& j,
                                                    const std::string& path = "shrinking");

// The phase in force at each epoch of a run of `total_epochs`.
class DETFORGE_API ProgressiveShrinking {
 public:
  ProgressiveShrinking(const nn::SearchSpace& full, const ShrinkOptions& options,
                       int64_t total_epochs);
  const std::vector<ShrinkPhase>& phases() const { return phases_; }
  int64_t phase_at(int64_t epoch) const;
  const nn::SearchSpace& space_at(int64_t epoch) const { return phases_[phase_at(epoch)].space; }
  // First epoch of each phase.
  const std::vector<int64_t>& phase_starts() const { return starts_; }

 private:
  std::vector<ShrinkPhase> phases_;
  std::vector<int64_t> starts_;
};

}  // namespace detforge::nas

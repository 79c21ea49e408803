// The reports of `detforge search joint` (nas/search/joint_search.h): the summary table (base vs
// searched: AP, AP50, MACs, params, latency measured on this machine, resolution) as
// out/summary.md + summary.json and on stdout, and three plots from out/candidates.jsonl and
// out/state.json: score.png (each candidate's score and the best so far per iteration),
// flops_map.png (MACs vs AP of every candidate, top-k entries marked) and capacity.png (backbone
// MACs of the best pair's student and teacher per iteration, as Joint-DetNAS's Figure 5).
#pragma once
#include <string>

#include <nlohmann/json.hpp>

#include "data/det_transforms.h"

namespace detforge::nas {

struct SearchSummaryInput {
  std::string out;  // the search directory
  nlohmann::json base_model, best_model, best_teacher, stages;
  std::string base_weights, best_weights;
  data::ResizeSize base_resolution, best_resolution;
  int64_t best_id = 0, latency_repeats = 20;
  double best_score = 0, base_macs = 0;
};

DETFORGE_API void write_search_report(const SearchSummaryInput& in);

// The three plots alone (from out/candidates.jsonl and out/state.json).
DETFORGE_API void plot_search(const std::string& out);

}  // namespace detforge::nas

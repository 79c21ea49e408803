#include "nas/search/hill_climbing.h"

#include <algorithm>
#include <cmath>

#include "tensor/error.h"

namespace detforge::nas {
namespace {
constexpr const char* kWho = "search";

int64_t uniform(std::mt19937_64& rng, int64_t n) {  // [0, n), portable (no distribution object)
  return static_cast<int64_t>(rng() % static_cast<uint64_t>(n));
}
}  // namespace

double joint_score(double map, double macs, double base_macs, double resolution,
                   double base_resolution, double alpha, double beta) {
  DF_CHECK(macs > 0 && base_macs > 0 && resolution > 0 && base_resolution > 0, ConfigError, "[",
           kWho, "] score: MACs and resolutions must be positive (got ", macs, ", ", base_macs,
           ", ", resolution, ", ", base_resolution, ")");
  const double cost = (macs / base_macs) * std::pow(resolution / base_resolution, beta);
  return map * std::pow(cost, -alpha);
}

TopKList::TopKList(int64_t k) : k_(k) {
  DF_CHECK(k >= 1, ConfigError, "[", kWho, "] search.top_k: expected >= 1, got ", k);
}

bool TopKList::offer(const SearchEntry& e, int64_t* dropped) {
  if (dropped) *dropped = -1;
  DF_CHECK(std::isfinite(e.score), ConfigError, "[", kWho, "] candidate ", e.id,
           ": the score is not finite (", e.score, ")");
  // Insert after every entry with a score >= e's (earlier candidates win ties).
  auto pos = std::find_if(entries_.begin(), entries_.end(),
                          [&](const SearchEntry& x) { return x.score < e.score; });
  if (pos == entries_.end() && static_cast<int64_t>(entries_.size()) >= k_) return false;
  entries_.insert(pos, e);
  if (static_cast<int64_t>(entries_.size()) > k_) {
    if (dropped) *dropped = entries_.back().id;
    entries_.pop_back();
  }
  return true;
}

const SearchEntry& TopKList::best() const {
  DF_CHECK(!entries_.empty(), ConfigError, "[", kWho, "] the top-k list is empty");
  return entries_.front();
}

bool TopKList::contains(int64_t id) const {
  return std::any_of(entries_.begin(), entries_.end(),
                     [&](const SearchEntry& e) { return e.id == id; });
}

nlohmann::json TopKList::to_json() const {
  nlohmann::json j{{"k", k_}, {"entries", nlohmann::json::array()}};
  for (const auto& e : entries_)
    j["entries"].push_back({{"id", e.id}, {"score", e.score}, {"record", e.record}});
  return j;
}

TopKList TopKList::from_json(const nlohmann::json& j) {
  TopKList t(j.at("k").get<int64_t>());
  for (const auto& e : j.at("entries"))
    t.entries_.push_back({e.at("id").get<int64_t>(), e.at("score").get<double>(), e.at("record")});
  return t;
}

nn::ArchConfig mutate_arch(const nn::ArchConfig& arch, const nn::SearchSpace& space,
                           std::mt19937_64& rng) {
  DF_CHECK(arch.stages.size() == space.stages.size(), ConfigError, "[", kWho,
           "] mutate: the architecture has ", arch.stages.size(), " stages, the space ",
           space.stages.size());
  std::vector<size_t> mutable_stages;
  for (size_t s = 0; s < space.stages.size(); ++s)
    if (space.stages[s].depths.size() > 1 || space.stages[s].width_mults.size() > 1)
      mutable_stages.push_back(s);
  DF_CHECK(!mutable_stages.empty(), ConfigError, "[", kWho,
           "] mutate: the teacher space has a single architecture");
  nn::ArchConfig out = arch;
  const size_t s = mutable_stages[static_cast<size_t>(uniform(rng, mutable_stages.size()))];
  const auto& ch = space.stages[s];
  const bool can_depth = ch.depths.size() > 1, can_width = ch.width_mults.size() > 1;
  const bool depth = can_depth && (!can_width || uniform(rng, 2) == 0);
  auto& st = out.stages[s];
  if (depth) {
    std::vector<int64_t> others;
    for (int64_t d : ch.depths)
      if (d != st.depth) others.push_back(d);
    st.depth = others[static_cast<size_t>(uniform(rng, others.size()))];
  } else {
    std::vector<double> others;
    for (double w : ch.width_mults)
      if (w != st.width_mult) others.push_back(w);
    st.width_mult = others[static_cast<size_t>(uniform(rng, others.size()))];
  }
  return out;
}

MorphAction sample_student_action(const StudentActionOptions& o, const std::vector<int64_t>& depths,
                                  std::mt19937_64& rng) {
  const int n = static_cast<int>(depths.size());
  // The (stage, direction) moves and the stages each type can act on, for these depths.
  std::vector<int> grow, shrink;
  std::vector<std::pair<int, bool>> moves;
  for (int s = 1; s <= n; ++s) {
    const int64_t d = depths[static_cast<size_t>(s - 1)];
    if (d < o.max_depth) grow.push_back(s);
    if (d >= 2) {
      shrink.push_back(s);
      if (s < n && depths[static_cast<size_t>(s)] < o.max_depth) moves.push_back({s, true});
      if (s > 1 && depths[static_cast<size_t>(s - 2)] < o.max_depth) moves.push_back({s, false});
    }
  }
  std::vector<MorphActionType> types;
  for (auto t : o.types) {
    if ((t == MorphActionType::kAddLayer && grow.empty()) ||
        (t == MorphActionType::kRearrange && moves.empty()) ||
        (t == MorphActionType::kLayerPrune && shrink.empty()))
      continue;
    types.push_back(t);
  }
  DF_CHECK(!types.empty(), ConfigError, "[", kWho,
           "] no enabled student action applies to a backbone with these depths");
  switch (types[static_cast<size_t>(uniform(rng, types.size()))]) {
    case MorphActionType::kAddLayer: {
      const int s = grow[static_cast<size_t>(uniform(rng, grow.size()))];
      // Append (the common case) or insert after one of the stage's blocks; never before the
      // first, which carries the stage's stride.
      const int64_t d = depths[static_cast<size_t>(s - 1)];
      const int64_t pos = 1 + uniform(rng, d);
      return MorphAction::add_layer(s, pos == d ? -1 : pos);
    }
    case MorphActionType::kRearrange: {
      const auto m = moves[static_cast<size_t>(uniform(rng, moves.size()))];
      return MorphAction::rearrange(m.first, m.second);
    }
    case MorphActionType::kLayerPrune:
      return MorphAction::layer_prune();
    case MorphActionType::kChannelPrune:
    default:
      return MorphAction::channel_prune(o.channel_prune_percent, o.channel_prune_per_layer);
  }
}

std::mt19937_64 iteration_rng(uint64_t seed, int64_t iter) {
  std::seed_seq seq{static_cast<uint32_t>(seed), static_cast<uint32_t>(seed >> 32),
                    static_cast<uint32_t>(iter), static_cast<uint32_t>(iter >> 32), 0x4a44u};
  return std::mt19937_64(seq);
}

}  // namespace detforge::nas

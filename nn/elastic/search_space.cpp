#include "nn/elastic/search_space.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "tensor/error.h"

namespace detforge::nn {

namespace {

template <class T>
T pick(const std::vector<T>& v, std::mt19937_64& rng) {
  return v[static_cast<size_t>(rng() % v.size())];
}

template <class T>
std::string set_string(const std::vector<T>& v) {
  std::ostringstream os;
  os << '{';
  for (size_t i = 0; i < v.size(); ++i) os << (i ? ", " : "") << v[i];
  os << '}';
  return os.str();
}

template <class T>
bool in(const std::vector<T>& v, T x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

// Builds a config taking from every choice list the element chosen by `choose`.
template <class Choose>
ArchConfig build(const SearchSpace& sp, Choose&& choose) {
  ArchConfig cfg;
  cfg.block_type = sp.block_type;
  cfg.input_resolution = sp.input_resolution;
  for (const auto& sc : sp.stages) {
    StageConfig st;
    st.depth = sc.depths.empty() ? 1 : choose(sc.depths);
    if (!sc.width_mults.empty()) st.width_mult = choose(sc.width_mults);
    for (int64_t b = 0; b < st.depth; ++b) {
      if (!sc.expand_ratios.empty()) st.expand_ratios.push_back(choose(sc.expand_ratios));
      if (!sc.kernel_sizes.empty()) st.kernel_sizes.push_back(choose(sc.kernel_sizes));
    }
    cfg.stages.push_back(std::move(st));
  }
  return cfg;
}

}  // namespace

ArchConfig SearchSpace::largest() const {
  return build(*this, [](const auto& v) { return *std::max_element(v.begin(), v.end()); });
}

ArchConfig SearchSpace::smallest() const {
  return build(*this, [](const auto& v) { return *std::min_element(v.begin(), v.end()); });
}

ArchConfig SearchSpace::sample(std::mt19937_64& rng) const {
  return build(*this, [&](const auto& v) { return pick(v, rng); });
}

ArchConfig SearchSpace::sample(std::mt19937_64& rng,
                               const std::function<bool(const ArchConfig&)>& accept,
                               int max_tries) const {
  for (int i = 0; i < max_tries; ++i) {
    ArchConfig cfg = sample(rng);
    if (accept(cfg)) return cfg;
  }
  throw ConfigError(str_cat("[nn.SearchSpace] no architecture accepted in ", max_tries, " draws"));
}

std::string SearchSpace::violation(const ArchConfig& cfg) const {
  if (cfg.block_type != block_type)
    return str_cat("block_type: expected ", block_type, ", got ", cfg.block_type);
  if (cfg.stages.size() != stages.size())
    return str_cat("stages: expected ", stages.size(), " stages, got ", cfg.stages.size());
  for (size_t s = 0; s < stages.size(); ++s) {
    const StageChoices& sc = stages[s];
    const StageConfig& st = cfg.stages[s];
    std::string at = str_cat("stages[", s, "].");
    if (sc.depths.empty() ? st.depth != 1 : !in(sc.depths, st.depth))
      return str_cat(at, "depth: ", st.depth, " not in ",
                     sc.depths.empty() ? "{1}" : set_string(sc.depths));
    if (sc.width_mults.empty() ? st.width_mult != 1.0 : !in(sc.width_mults, st.width_mult))
      return str_cat(at, "width_mult: ", st.width_mult, " not in ",
                     sc.width_mults.empty() ? "{1}" : set_string(sc.width_mults));
    auto check_list = [&](const auto& got, const auto& choices, const char* key) -> std::string {
      if (choices.empty())
        return got.empty() ? "" : str_cat(at, key, ": not searchable in this space");
      if (static_cast<int64_t>(got.size()) != st.depth)
        return str_cat(at, key, ": expected ", st.depth, " entries, got ", got.size());
      for (size_t b = 0; b < got.size(); ++b)
        if (!in(choices, got[b]))
          return str_cat(at, key, "[", b, "]: ", got[b], " not in ", set_string(choices));
      return "";
    };
    std::string e = check_list(st.expand_ratios, sc.expand_ratios, "expand_ratios");
    if (e.empty()) e = check_list(st.kernel_sizes, sc.kernel_sizes, "kernel_sizes");
    if (!e.empty()) return e;
  }
  return "";
}

void SearchSpace::check(const ArchConfig& cfg, const std::string& who) const {
  std::string v = violation(cfg);
  if (!v.empty()) throw ConfigError(str_cat("[", who, "] ", v));
}

double SearchSpace::size() const {
  double total = 1;
  for (const auto& sc : stages) {
    double per_block = std::max<size_t>(1, sc.expand_ratios.size()) *
                       static_cast<double>(std::max<size_t>(1, sc.kernel_sizes.size()));
    double stage = 0;
    if (sc.depths.empty()) {
      stage = per_block;
    } else {
      for (int64_t d : sc.depths) stage += std::pow(per_block, static_cast<double>(d));
    }
    total *= stage * static_cast<double>(std::max<size_t>(1, sc.width_mults.size()));
  }
  return total;
}

}  // namespace detforge::nn

#include "nas/progressive_shrinking.h"

#include <algorithm>
#include <functional>

#include "tensor/error.h"

namespace detforge::nas {

namespace {

template <class T>
void keep_prefix(std::vector<T>& v, int64_t keep) {
  std::sort(v.begin(), v.end(), std::greater<T>());
  if (static_cast<int64_t>(v.size()) > keep) v.resize(static_cast<size_t>(keep));
}

template <class T>
bool subset(const std::vector<T>& a, const std::vector<T>& b) {
  for (const T& x : a)
    if (std::find(b.begin(), b.end(), x) == b.end()) return false;
  return true;
}

// Choices of `dim` in the stage with the most of them.
int64_t max_choices(const nn::SearchSpace& sp, ShrinkDim dim) {
  size_t n = 0;
  for (const auto& s : sp.stages) {
    switch (dim) {
      case ShrinkDim::kernel:
        n = std::max(n, s.kernel_sizes.size());
        break;
      case ShrinkDim::depth:
        n = std::max(n, s.depths.size());
        break;
      case ShrinkDim::expand:
        n = std::max(n, s.expand_ratios.size());
        break;
      case ShrinkDim::width:
        n = std::max(n, s.width_mults.size());
        break;
    }
  }
  return static_cast<int64_t>(n);
}

const char* dim_name(ShrinkDim d) {
  switch (d) {
    case ShrinkDim::kernel:
      return "kernel";
    case ShrinkDim::depth:
      return "depth";
    case ShrinkDim::expand:
      return "expand";
    case ShrinkDim::width:
      return "width";
  }
  return "?";
}

// Copies dimension d's choice lists of every stage from `from` into `to`.
void copy_dim(nn::SearchSpace& to, const nn::SearchSpace& from, ShrinkDim d) {
  for (size_t i = 0; i < to.stages.size(); ++i) {
    auto& t = to.stages[i];
    const auto& f = from.stages[i];
    switch (d) {
      case ShrinkDim::kernel:
        t.kernel_sizes = f.kernel_sizes;
        break;
      case ShrinkDim::depth:
        t.depths = f.depths;
        break;
      case ShrinkDim::expand:
        t.expand_ratios = f.expand_ratios;
        break;
      case ShrinkDim::width:
        t.width_mults = f.width_mults;
        break;
    }
  }
}

const std::vector<ShrinkDim> kAllDims{ShrinkDim::kernel, ShrinkDim::depth, ShrinkDim::expand,
                                      ShrinkDim::width};

}  // namespace

nn::SearchSpace narrow_space(const nn::SearchSpace& full, ShrinkDim dim, int64_t keep) {
  DF_CHECK(keep >= 1, ConfigError, "[nas.narrow_space] keep must be >= 1, got ", keep);
  nn::SearchSpace sp = full;
  for (auto& s : sp.stages) {
    switch (dim) {
      case ShrinkDim::kernel:
        keep_prefix(s.kernel_sizes, keep);
        break;
      case ShrinkDim::depth:
        keep_prefix(s.depths, keep);
        break;
      case ShrinkDim::expand:
        keep_prefix(s.expand_ratios, keep);
        break;
      case ShrinkDim::width:
        keep_prefix(s.width_mults, keep);
        break;
    }
  }
  return sp;
}

nn::SearchSpace largest_only(const nn::SearchSpace& full) {
  nn::SearchSpace sp = full;
  for (ShrinkDim d : kAllDims) sp = narrow_space(sp, d, 1);
  return sp;
}

std::vector<ShrinkPhase> ofa_phases(const nn::SearchSpace& full,
                                    const std::vector<ShrinkDim>& dims) {
  // Dimensions not named in `dims` are open in full from the first phase (DetOFA keeps D full).
  nn::SearchSpace cur = largest_only(full);
  for (ShrinkDim d : kAllDims)
    if (std::find(dims.begin(), dims.end(), d) == dims.end())
      copy_dim(cur, narrow_space(full, d, max_choices(full, d) + 1), d);
  std::vector<ShrinkPhase> phases{{"fullnet", cur}};
  for (ShrinkDim d : dims) {
    const int64_t n = max_choices(full, d);
    for (int64_t k = 2; k <= n; ++k) {
      copy_dim(cur, narrow_space(full, d, k), d);
      phases.push_back({str_cat(dim_name(d), " ", k, "/", n), cur});
    }
  }
  return phases;
}

std::vector<ShrinkPhase> ips_phases(const nn::SearchSpace& full) {
  int64_t n = 1;
  for (ShrinkDim d : kAllDims) n = std::max(n, max_choices(full, d));
  std::vector<ShrinkPhase> phases{{"fullnet", largest_only(full)}};
  for (int64_t k = 2; k <= n; ++k) {
    nn::SearchSpace s = full;
    for (ShrinkDim d : kAllDims) s = narrow_space(s, d, k);
    phases.push_back({str_cat("joint ", k, "/", n), s});
  }
  return phases;
}

std::vector<ShrinkPhase> shrink_phases(const nn::SearchSpace& full, ShrinkOrder order) {
  switch (order) {
    case ShrinkOrder::none:
      return {{"full", full}};
    case ShrinkOrder::ofa:
      return ofa_phases(full);
    case ShrinkOrder::ips:
      return ips_phases(full);
  }
  return {};
}

bool space_within(const nn::SearchSpace& inner, const nn::SearchSpace& outer) {
  if (inner.stages.size() != outer.stages.size() || inner.block_type != outer.block_type)
    return false;
  for (size_t i = 0; i < inner.stages.size(); ++i) {
    const auto &a = inner.stages[i], &b = outer.stages[i];
    if (!subset(a.depths, b.depths) || !subset(a.width_mults, b.width_mults) ||
        !subset(a.expand_ratios, b.expand_ratios) || !subset(a.kernel_sizes, b.kernel_sizes))
      return false;
  }
  return true;
}

ShrinkOptions shrink_options_from_json(const nlohmann::json& j, const std::string& path) {
  DF_CHECK(j.is_object(), ConfigError, "[nas.shrinking] ", path, ": expected an object, got ",
           j.dump());
  ShrinkOptions o;
  for (auto it = j.begin(); it != j.end(); ++it) {
    const std::string key = path + "." + it.key();
    if (it.key() == "order") {
      const std::string s = it->is_string() ? it->get<std::string>() : "";
      if (s == "none")
        o.order = ShrinkOrder::none;
      else if (s == "ofa")
        o.order = ShrinkOrder::ofa;
      else if (s == "ips")
        o.order = ShrinkOrder::ips;
      else
        throw ConfigError(str_cat("[nas.shrinking] ", key,
                                  ": expected \"none\", \"ofa\" or \"ips\", got ", it->dump()));
    } else if (it.key() == "phase_epochs") {
      DF_CHECK(it->is_array(), ConfigError, "[nas.shrinking] ", key,
               ": expected an array of integers >= 1, got ", it->dump());
      for (size_t i = 0; i < it->size(); ++i) {
        const auto& e = (*it)[i];
        DF_CHECK(e.is_number_integer() && e.get<int64_t>() >= 1, ConfigError, "[nas.shrinking] ",
                 key, "[", i, "]: expected an integer >= 1, got ", e.dump());
        o.phase_epochs.push_back(e.get<int64_t>());
      }
    } else if (it.key() == "ofa_dims") {
      DF_CHECK(it->is_array(), ConfigError, "[nas.shrinking] ", key,
               ": expected an array of \"kernel\" | \"depth\" | \"expand\" | \"width\", got ",
               it->dump());
      o.ofa_dims.clear();
      for (size_t i = 0; i < it->size(); ++i) {
        const auto& e = (*it)[i];
        const std::string d = e.is_string() ? e.get<std::string>() : "";
        bool found = false;
        for (ShrinkDim k : kAllDims)
          if (d == dim_name(k)) {
            DF_CHECK(std::find(o.ofa_dims.begin(), o.ofa_dims.end(), k) == o.ofa_dims.end(),
                     ConfigError, "[nas.shrinking] ", key, "[", i, "]: \"", d, "\" repeated");
            o.ofa_dims.push_back(k);
            found = true;
          }
        DF_CHECK(found, ConfigError, "[nas.shrinking] ", key, "[", i,
                 "]: expected \"kernel\", \"depth\", \"expand\" or \"width\", got ", e.dump());
      }
    } else {
      throw ConfigError(str_cat("[nas.shrinking] ", key, ": unknown key"));
    }
  }
  return o;
}

ProgressiveShrinking::ProgressiveShrinking(const nn::SearchSpace& full,
                                           const ShrinkOptions& options, int64_t total_epochs)
    : phases_(options.order == ShrinkOrder::ofa ? ofa_phases(full, options.ofa_dims)
                                                : shrink_phases(full, options.order)) {
  const int64_t n = static_cast<int64_t>(phases_.size());
  if (!options.phase_epochs.empty()) {
    DF_CHECK(static_cast<int64_t>(options.phase_epochs.size()) == n, ConfigError,
             "[nas.shrinking] shrinking.phase_epochs: this space has ", n, " phases, got ",
             options.phase_epochs.size(), " entries");
    int64_t at = 0;
    for (int64_t e : options.phase_epochs) {
      starts_.push_back(at);
      at += e;
    }
  } else {
    DF_CHECK(total_epochs >= 1, ConfigError, "[nas.shrinking] total epochs must be >= 1");
    const int64_t base = total_epochs / n, rem = total_epochs % n;
    int64_t at = 0;
    for (int64_t p = 0; p < n; ++p) {
      starts_.push_back(at);
      at += base + (p < rem ? 1 : 0);
    }
  }
}

int64_t ProgressiveShrinking::phase_at(int64_t epoch) const {
  int64_t p = 0;
  for (int64_t i = 0; i < static_cast<int64_t>(starts_.size()); ++i)
    if (epoch >= starts_[i]) p = i;
  return p;
}

}  // namespace detforge::nas

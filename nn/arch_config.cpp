#include "nn/arch_config.h"

#include <cctype>
#include <set>

#include "tensor/error.h"

namespace detforge::nn {

using nlohmann::json;

bool StageConfig::operator==(const StageConfig& o) const {
  return depth == o.depth && width_mult == o.width_mult && channels == o.channels &&
         expand_ratios == o.expand_ratios && kernel_sizes == o.kernel_sizes &&
         doubling == o.doubling;
}

bool ArchConfig::operator==(const ArchConfig& o) const {
  return block_type == o.block_type && input_resolution == o.input_resolution &&
         base_channels == o.base_channels && stages == o.stages;
}

int64_t ArchConfig::total_blocks() const {
  int64_t n = 0;
  for (const auto& s : stages) n += s.depth;
  return n;
}

namespace {

[[noreturn]] void fail(const std::string& path, const std::string& expected,
                       const std::string& got) {
  throw ConfigError(str_cat("[nas.ArchConfig] ", path, ": expected ", expected, ", got ", got));
}

std::string stage_path(size_t s, const char* key) {
  return str_cat("stages[", s, "].", key);
}

void check_per_block(size_t s, const char* key, size_t n, int64_t depth) {
  if (n != 0 && static_cast<int64_t>(n) != depth)
    fail(stage_path(s, key), str_cat("an empty list or one entry per block (", depth, ")"),
         str_cat(n, " entries"));
}

int64_t get_int(const json& j, const std::string& path, int64_t min, const char* what) {
  if (!j.is_number_integer()) fail(path, what, j.dump());
  int64_t v = j.get<int64_t>();
  if (v < min) fail(path, what, std::to_string(v));
  return v;
}

double get_positive(const json& j, const std::string& path) {
  if (!j.is_number()) fail(path, "a number > 0", j.dump());
  double v = j.get<double>();
  if (!(v > 0)) fail(path, "a number > 0", j.dump());
  return v;
}

const json& get_array(const json& j, const std::string& path) {
  if (!j.is_array()) fail(path, "an array", j.dump());
  return j;
}

void check_keys(const json& j, const std::string& path, const std::set<std::string>& allowed) {
  for (auto it = j.begin(); it != j.end(); ++it)
    if (!allowed.count(it.key()))
      throw ConfigError(
          str_cat("[nas.ArchConfig] ", path.empty() ? "" : path + ".", it.key(), ": unknown key"));
}

void check_block_type(const std::string& t, const std::string& got) {
  if (t != "basic" && t != "bottleneck" && t != "xbottleneck" && t != "inverted_residual")
    fail("block_type", "\"basic\", \"bottleneck\", \"xbottleneck\" or \"inverted_residual\"", got);
}

}  // namespace

void ArchConfig::validate() const {
  check_block_type(block_type, "\"" + block_type + "\"");
  if (input_resolution < 1)
    fail("input_resolution", "an integer >= 1", std::to_string(input_resolution));
  if (base_channels < 0) fail("base_channels", "an integer >= 0", std::to_string(base_channels));
  if (stages.empty()) fail("stages", "a non-empty array", "[]");
  for (size_t s = 0; s < stages.size(); ++s) {
    const StageConfig& st = stages[s];
    if (st.depth < 1) fail(stage_path(s, "depth"), "an integer >= 1", std::to_string(st.depth));
    if (!(st.width_mult > 0))
      fail(stage_path(s, "width_mult"), "a number > 0", str_cat(st.width_mult));
    if (st.channels < 0)
      fail(stage_path(s, "channels"), "an integer >= 0", std::to_string(st.channels));
    check_per_block(s, "expand_ratios", st.expand_ratios.size(), st.depth);
    check_per_block(s, "kernel_sizes", st.kernel_sizes.size(), st.depth);
    check_per_block(s, "doubling", st.doubling.size(), st.depth);
    for (size_t b = 0; b < st.expand_ratios.size(); ++b)
      if (!(st.expand_ratios[b] > 0))
        fail(str_cat(stage_path(s, "expand_ratios"), "[", b, "]"), "a number > 0",
             str_cat(st.expand_ratios[b]));
    for (size_t b = 0; b < st.kernel_sizes.size(); ++b)
      if (st.kernel_sizes[b] < 1 || st.kernel_sizes[b] % 2 == 0)
        fail(str_cat(stage_path(s, "kernel_sizes"), "[", b, "]"), "an odd integer >= 1",
             std::to_string(st.kernel_sizes[b]));
  }
}

json arch_config_to_json(const ArchConfig& cfg) {
  cfg.validate();
  json j;
  j["block_type"] = cfg.block_type;
  j["input_resolution"] = cfg.input_resolution;
  if (cfg.base_channels > 0) j["base_channels"] = cfg.base_channels;
  json stages = json::array();
  for (const auto& s : cfg.stages) {
    json js;
    js["depth"] = s.depth;
    js["width_mult"] = s.width_mult;
    if (s.channels > 0) js["channels"] = s.channels;
    if (!s.expand_ratios.empty()) js["expand_ratios"] = s.expand_ratios;
    if (!s.kernel_sizes.empty()) js["kernel_sizes"] = s.kernel_sizes;
    if (!s.doubling.empty()) {
      json d = json::array();
      for (bool b : s.doubling) d.push_back(b);
      js["doubling"] = d;
    }
    stages.push_back(js);
  }
  j["stages"] = stages;
  return j;
}

ArchConfig arch_config_from_json(const json& j) {
  if (!j.is_object()) fail("<root>", "an object", j.dump());
  check_keys(j, "", {"block_type", "input_resolution", "base_channels", "stages"});
  ArchConfig cfg;
  if (j.contains("block_type")) {
    const json& t = j["block_type"];
    if (!t.is_string()) fail("block_type", "a string", t.dump());
    check_block_type(t.get<std::string>(), t.dump());
    cfg.block_type = t.get<std::string>();
  }
  if (j.contains("input_resolution"))
    cfg.input_resolution = get_int(j["input_resolution"], "input_resolution", 1, "an integer >= 1");
  if (j.contains("base_channels"))
    cfg.base_channels = get_int(j["base_channels"], "base_channels", 0, "an integer >= 0");
  if (!j.contains("stages")) fail("stages", "a non-empty array", "nothing (missing key)");
  const json& stages = get_array(j["stages"], "stages");
  if (stages.empty()) fail("stages", "a non-empty array", "[]");
  for (size_t s = 0; s < stages.size(); ++s) {
    const json& js = stages[s];
    std::string p = str_cat("stages[", s, "]");
    if (!js.is_object()) fail(p, "an object", js.dump());
    check_keys(js, p,
               {"depth", "width_mult", "channels", "expand_ratios", "kernel_sizes", "doubling"});
    StageConfig st;
    if (!js.contains("depth")) fail(p + ".depth", "an integer >= 1", "nothing (missing key)");
    st.depth = get_int(js["depth"], p + ".depth", 1, "an integer >= 1");
    if (js.contains("width_mult"))
      st.width_mult = get_positive(js["width_mult"], p + ".width_mult");
    if (js.contains("channels"))
      st.channels = get_int(js["channels"], p + ".channels", 0, "an integer >= 0");
    if (js.contains("expand_ratios")) {
      const json& a = get_array(js["expand_ratios"], p + ".expand_ratios");
      for (size_t b = 0; b < a.size(); ++b)
        st.expand_ratios.push_back(get_positive(a[b], str_cat(p, ".expand_ratios[", b, "]")));
    }
    if (js.contains("kernel_sizes")) {
      const json& a = get_array(js["kernel_sizes"], p + ".kernel_sizes");
      for (size_t b = 0; b < a.size(); ++b) {
        std::string bp = str_cat(p, ".kernel_sizes[", b, "]");
        int64_t k = get_int(a[b], bp, 1, "an odd integer >= 1");
        if (k % 2 == 0) fail(bp, "an odd integer >= 1", std::to_string(k));
        st.kernel_sizes.push_back(k);
      }
    }
    if (js.contains("doubling")) {
      const json& a = get_array(js["doubling"], p + ".doubling");
      for (size_t b = 0; b < a.size(); ++b) {
        if (!a[b].is_boolean()) fail(str_cat(p, ".doubling[", b, "]"), "a boolean", a[b].dump());
        st.doubling.push_back(a[b].get<bool>());
      }
    }
    cfg.stages.push_back(st);
  }
  cfg.validate();  // cross-field checks (per-block list lengths)
  return cfg;
}

}  // namespace detforge::nn

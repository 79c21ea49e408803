#include "kd/distiller_spec.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <fstream>
#include <random>
#include <sstream>

#include "tensor/error.h"

namespace detforge::kd {
namespace {

const std::vector<std::string> kFeatureTransforms = {
    "satt",    "catt",    "mask",    "scale_1", "scale_2", "scale_4", "local_1",
    "local_2", "local_4", "norm_HW", "norm_C",  "norm_N",  "min-max"};
const std::vector<std::string> kLogitsTransforms = {"norm_N", "norm_C", "min-max", "reshape_N",
                                                    "reshape_C"};
const std::vector<std::string> kLocTransforms = {"softmax_N", "softmax_C", "pow2", "sigmoid"};
const std::vector<std::string> kFeatureDistances = {"smooth-L1", "L1",      "L2",  "KL",
                                                    "cosine",    "Pearson", "SSIM"};
const std::vector<std::string> kLogitsDistances = {"smooth-L1", "L1",      "L2", "KL",
                                                   "cosine",    "Pearson", "Cor"};
const std::vector<std::string> kLocDistances = {"IoU", "C-IoU", "E-IoU", "G-IoU", "D-IoU"};
const std::vector<double> kWeights = {0.1, 0.5, 1, 2, 5, 8, 10};
const char* kFamilyNames[] = {"attention", "scale", "normalize", "response"};

// Lower case without '-', '_' and spaces: the matching key of a name.
std::string key_of(const std::string& s) {
  std::string k;
  for (char c : s)
    if (c != '-' && c != '_' && c != ' ')
      k.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  return k;
}

std::string join(const std::vector<std::string>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + v[i];
  return s;
}

std::string fmt_num(double v) {
  std::ostringstream o;
  o << v;
  return o.str();
}

// Canonical spelling of `name` in `vocab`, or "" when absent.
std::string canonical(const std::string& name, const std::vector<std::string>& vocab) {
  const std::string k = key_of(name);
  for (const auto& v : vocab)
    if (key_of(v) == k) return v;
  return "";
}

bool has_param(const std::string& n) {
  return n == "satt" || n == "catt" || n == "mask";
}
const char* param_key(const std::string& n) {
  return n == "mask" ? "ratio" : "tau";
}

[[noreturn]] void fail(const std::string& path, const std::string& msg) {
  throw ConfigError("[kd] " + path + ": " + msg);
}

void check_param(const std::string& name, double p, const std::string& path) {
  if (name == "mask") {
    if (!(p >= 0 && p < 1))
      fail(path, "mask ratio must be in [0, 1) (Appendix D Eq. 10), got " + fmt_num(p));
  } else if (has_param(name)) {
    if (!(p > 0) || !std::isfinite(p))
      fail(path, name + " temperature tau must be > 0 (Appendix D Eq. 9), got " + fmt_num(p));
  } else if (p != 0) {
    fail(path, "transform '" + name + "' takes no parameter");
  }
}

std::string all_inputs() {
  return "global, fgbg, instance, logits, loc";
}

Transform parse_transform(const nlohmann::json& t, Input in, const std::string& path) {
  const auto& vocab = transform_names(in);
  std::string raw;
  double param = 0;
  bool param_given = false;
  if (t.is_string()) {
    raw = t.get<std::string>();
    // "catt_0.3" / "mask_0.65": a numeric suffix after the last '_' is the parameter.
    const size_t us = raw.rfind('_');
    if (us != std::string::npos && us + 1 < raw.size()) {
      const std::string head = key_of(raw.substr(0, us)), tail = raw.substr(us + 1);
      if (head == "satt" || head == "catt" || head == "mask") {
        char* end = nullptr;
        const double v = std::strtod(tail.c_str(), &end);
        if (end == tail.c_str() || *end != '\0')
          fail(path,
               "bad parameter '" + tail + "' in '" + raw + "' (expected e.g. " + head + "_0.5)");
        raw = raw.substr(0, us);
        param = v;
        param_given = true;
      }
    }
  } else if (t.is_object()) {
    if (!t.contains("name") || !t.at("name").is_string())
      fail(path, "expected a transform name string or {\"name\": ...}, got " + t.dump());
    raw = t.at("name").get<std::string>();
    for (auto it = t.begin(); it != t.end(); ++it) {
      const std::string& k = it.key();
      if (k == "name") continue;
      const std::string c = canonical(raw, vocab);
      if (!c.empty() && has_param(c) && k == param_key(c)) {
        if (!it.value().is_number()) fail(path + "." + k, "expected a number, got " + it->dump());
        param = it.value().get<double>();
        param_given = true;
      } else {
        fail(path + "." + k,
             "unknown key for transform '" + raw + "'" +
                 (!c.empty() && has_param(c) ? std::string(" (allowed: name, ") + param_key(c) + ")"
                                             : std::string(" (allowed: name)")));
      }
    }
  } else {
    fail(path, "expected a transform name string or object, got " + t.dump());
  }
  const std::string c = canonical(raw, vocab);
  if (c.empty())
    fail(path, "unknown transform '" + raw + "' for input '" + input_name(in) +
                   "' (allowed: " + join(vocab) + ") [R1, Table 2]");
  Transform out{c, param_given ? param : default_param(c)};
  check_param(c, out.param, path);
  return out;
}

void check_chain(const std::vector<Transform>& ts, Input in, const std::string& path) {
  if (!is_feature(in)) {
    if (ts.size() != 1)
      fail(path, std::string("input '") + input_name(in) +
                     "' takes exactly one transform (DetKDS Sec. 3.1: 'a single transform' for "
                     "response knowledge) [R4], got " +
                     std::to_string(ts.size()));
    return;
  }
  if (ts.size() > 3)
    fail(path,
         "a feature chain has at most 3 transforms (attention -> scale -> normalize, "
         "DetKDS Sec. 3.1 / Eq. 2) [R3], got " +
             std::to_string(ts.size()));
  for (size_t i = 1; i < ts.size(); ++i) {
    const int a = static_cast<int>(transform_family(ts[i - 1].name));
    const int b = static_cast<int>(transform_family(ts[i].name));
    const std::string p = path + "[" + std::to_string(i) + "]";
    if (a == b)
      fail(p, "'" + ts[i].name + "' is a second " + kFamilyNames[b] + " transform after '" +
                  ts[i - 1].name +
                  "' (at most one per family: attention -> scale -> normalize, DetKDS Sec. 3.1) "
                  "[R3]");
    if (a > b)
      fail(p, "'" + ts[i].name + "' (" + kFamilyNames[b] + ") after '" + ts[i - 1].name + "' (" +
                  kFamilyNames[a] +
                  "): feature chains run attention -> scale -> normalize (DetKDS Sec. 3.1) [R3]");
  }
}

void check_distance_weight(const DistillerSpec& s, const std::string& path) {
  const auto& dv = distance_names(s.input);
  if (std::find(dv.begin(), dv.end(), s.distance) == dv.end())
    fail(path + ".distance", "unknown distance '" + s.distance + "' for input '" +
                                 input_name(s.input) + "' (allowed: " + join(dv) +
                                 ") [R2, Table 2]");
  if (std::find(kWeights.begin(), kWeights.end(), s.weight) == kWeights.end())
    fail(path + ".weight",
         "weight " + fmt_num(s.weight) + " is not in {0.1, 0.5, 1, 2, 5, 8, 10} [R5, Table 2]");
}

// Uniform integer in [0, n) from mt19937_64 by rejection (identical on every platform).
int64_t uniform_index(std::mt19937_64& g, int64_t n) {
  const uint64_t un = static_cast<uint64_t>(n);
  const uint64_t limit = UINT64_MAX - UINT64_MAX % un;
  uint64_t v;
  do v = g();
  while (v >= limit);
  return static_cast<int64_t>(v % un);
}

}  // namespace

const char* input_name(Input in) {
  switch (in) {
    case Input::global:
      return "global";
    case Input::fgbg:
      return "fgbg";
    case Input::instance:
      return "instance";
    case Input::logits:
      return "logits";
    case Input::loc:
      return "loc";
  }
  return "?";
}

bool is_feature(Input in) {
  return in == Input::global || in == Input::fgbg || in == Input::instance;
}

Input parse_input(const std::string& name, const std::string& path) {
  const std::string k = key_of(name);
  for (int i = 0; i < kNumInputs; ++i)
    if (k == input_name(static_cast<Input>(i))) return static_cast<Input>(i);
  if (k == "ins") return Input::instance;
  fail(path, "unknown input '" + name + "' (allowed: " + all_inputs() + ")");
}

Family transform_family(const std::string& n) {
  if (n == "satt" || n == "catt" || n == "mask") return Family::attention;
  if (n.rfind("scale_", 0) == 0 || n.rfind("local_", 0) == 0) return Family::scale;
  if (n.rfind("norm_", 0) == 0 || n == "min-max") return Family::normalize;
  return Family::response;
}

double default_param(const std::string& n) {
  return has_param(n) ? 0.5 : 0.0;
}

const std::vector<std::string>& transform_names(Input in) {
  if (is_feature(in)) return kFeatureTransforms;
  return in == Input::logits ? kLogitsTransforms : kLocTransforms;
}

const std::vector<std::string>& distance_names(Input in) {
  if (is_feature(in)) return kFeatureDistances;
  return in == Input::logits ? kLogitsDistances : kLocDistances;
}

const std::vector<double>& weight_values() {
  return kWeights;
}

DistillerSpec parse_distiller(const nlohmann::json& j, const std::string& path) {
  if (!j.is_object()) fail(path, "expected a distiller object, got " + j.dump());
  for (auto it = j.begin(); it != j.end(); ++it)
    if (it.key() != "input" && it.key() != "transforms" && it.key() != "distance" &&
        it.key() != "weight")
      fail(path + "." + it.key(), "unknown key (allowed: input, transforms, distance, weight)");
  DistillerSpec s;
  if (!j.contains("input") || !j.at("input").is_string())
    fail(path + ".input", "expected one of " + all_inputs());
  s.input = parse_input(j.at("input").get<std::string>(), path + ".input");
  const std::string tp = path + ".transforms";
  if (j.contains("transforms")) {
    const auto& ts = j.at("transforms");
    if (!ts.is_array()) fail(tp, "expected an array of transforms, got " + ts.dump());
    for (size_t i = 0; i < ts.size(); ++i)
      s.transforms.push_back(parse_transform(ts[i], s.input, tp + "[" + std::to_string(i) + "]"));
  }
  check_chain(s.transforms, s.input, tp);
  if (!j.contains("distance") || !j.at("distance").is_string())
    fail(path + ".distance",
         "expected a distance name (allowed: " + join(distance_names(s.input)) + ")");
  const std::string raw = j.at("distance").get<std::string>();
  s.distance = canonical(raw, distance_names(s.input));
  if (s.distance.empty()) s.distance = raw;  // reported by check_distance_weight
  if (j.contains("weight")) {
    if (!j.at("weight").is_number()) fail(path + ".weight", "expected a number");
    s.weight = j.at("weight").get<double>();
  }
  check_distance_weight(s, path);
  return s;
}

void validate(const DistillerSpec& s, const std::string& path) {
  const auto& vocab = transform_names(s.input);
  for (size_t i = 0; i < s.transforms.size(); ++i) {
    const std::string p = path + ".transforms[" + std::to_string(i) + "]";
    const auto& n = s.transforms[i].name;
    if (std::find(vocab.begin(), vocab.end(), n) == vocab.end())
      fail(p, "unknown transform '" + n + "' for input '" + input_name(s.input) +
                  "' (allowed: " + join(vocab) + ") [R1, Table 2]");
    check_param(n, s.transforms[i].param, p);
  }
  check_chain(s.transforms, s.input, path + ".transforms");
  check_distance_weight(s, path);
}

std::vector<DistillerSpec> parse_distillers(const nlohmann::json& j) {
  nlohmann::json arr;
  std::string base = "distillers";
  if (j.is_array()) {
    arr = j;
  } else if (j.is_object() && j.contains("distillers")) {
    for (auto it = j.begin(); it != j.end(); ++it)
      if (it.key() != "distillers") fail(it.key(), "unknown key (allowed: distillers)");
    arr = j.at("distillers");
    if (!arr.is_array()) fail("distillers", "expected an array of distillers");
  } else if (j.is_object()) {
    return {parse_distiller(j, "distiller")};
  } else {
    fail("<root>", "expected a distiller object, an array of them or {\"distillers\": [...]}");
  }
  std::vector<DistillerSpec> out;
  for (size_t i = 0; i < arr.size(); ++i) {
    const std::string p = base + "[" + std::to_string(i) + "]";
    out.push_back(parse_distiller(arr[i], p));
    for (size_t k = 0; k + 1 < out.size(); ++k)
      if (out[k].input == out.back().input)
        fail(p + ".input", std::string("input '") + input_name(out.back().input) +
                               "' already has a distiller at " + base + "[" + std::to_string(k) +
                               "] (one loss per knowledge input, DetKDS Eq. 1) [R6]");
  }
  return out;
}

std::vector<DistillerSpec> load_distillers(const std::string& file) {
  std::ifstream f(file);
  DF_CHECK(f.good(), IOError, "[kd] cannot open ", file);
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(f);
  } catch (const nlohmann::json::exception& e) {
    throw ConfigError(std::string("[kd] ") + file + ": invalid JSON: " + e.what());
  }
  return parse_distillers(j);
}

nlohmann::json to_json(const DistillerSpec& s) {
  nlohmann::json ts = nlohmann::json::array();
  for (const auto& t : s.transforms) {
    if (has_param(t.name) && t.param != default_param(t.name))
      ts.push_back({{"name", t.name}, {param_key(t.name), t.param}});
    else
      ts.push_back(t.name);
  }
  return {{"input", input_name(s.input)},
          {"transforms", ts},
          {"distance", s.distance},
          {"weight", s.weight}};
}

std::string to_string(const DistillerSpec& s) {
  std::string r = std::string(input_name(s.input)) + ": ";
  if (s.transforms.empty()) r += "identity";
  for (size_t i = 0; i < s.transforms.size(); ++i) {
    r += (i ? " -> " : "") + s.transforms[i].name;
    if (has_param(s.transforms[i].name) &&
        s.transforms[i].param != default_param(s.transforms[i].name))
      r += "(" + fmt_num(s.transforms[i].param) + ")";
  }
  return r + " | " + s.distance + " | x" + fmt_num(s.weight);
}

namespace {
std::vector<std::vector<Transform>> build_chains(Input in) {
  std::vector<std::vector<Transform>> out;
  const auto& vocab = transform_names(in);
  if (!is_feature(in)) {
    for (const auto& n : vocab) out.push_back({Transform{n, default_param(n)}});
    return out;
  }
  // Each family slot: empty or one member; families in order attention, scale, normalize.
  std::vector<std::string> fam[3];
  for (const auto& n : vocab) fam[static_cast<int>(transform_family(n))].push_back(n);
  for (int a = -1; a < static_cast<int>(fam[0].size()); ++a)
    for (int b = -1; b < static_cast<int>(fam[1].size()); ++b)
      for (int c = -1; c < static_cast<int>(fam[2].size()); ++c) {
        std::vector<Transform> ch;
        if (a >= 0) ch.push_back({fam[0][a], default_param(fam[0][a])});
        if (b >= 0) ch.push_back({fam[1][b], 0});
        if (c >= 0) ch.push_back({fam[2][c], 0});
        out.push_back(ch);
      }
  return out;
}

const std::vector<std::vector<Transform>>& chains_of(Input in) {
  static const std::vector<std::vector<Transform>> all[kNumInputs] = {
      build_chains(Input::global), build_chains(Input::fgbg), build_chains(Input::instance),
      build_chains(Input::logits), build_chains(Input::loc)};
  return all[static_cast<int>(in)];
}
}  // namespace

std::vector<std::vector<Transform>> valid_chains(Input in) {
  return chains_of(in);
}

int64_t space_size(Input in) {
  return static_cast<int64_t>(chains_of(in).size() * distance_names(in).size() * kWeights.size());
}

int64_t space_size() {
  int64_t n = 0;
  for (int i = 0; i < kNumInputs; ++i) n += space_size(static_cast<Input>(i));
  return n;
}

DistillerSpec spec_at(Input in, int64_t index) {
  const int64_t n = space_size(in);
  DF_CHECK(index >= 0 && index < n, ConfigError, "[kd] spec index ", index, " outside [0, ", n,
           ") of input ", input_name(in));
  const auto& chains = chains_of(in);
  const auto& dv = distance_names(in);
  const int64_t nw = static_cast<int64_t>(kWeights.size()), nd = static_cast<int64_t>(dv.size());
  DistillerSpec s;
  s.input = in;
  s.weight = kWeights[index % nw];
  index /= nw;
  s.distance = dv[index % nd];
  index /= nd;
  s.transforms = chains[index];
  return s;
}

DistillerSpec spec_at(int64_t index) {
  DF_CHECK(index >= 0 && index < space_size(), ConfigError, "[kd] spec index ", index,
           " outside [0, ", space_size(), ")");
  for (int i = 0; i < kNumInputs; ++i) {
    const Input in = static_cast<Input>(i);
    if (index < space_size(in)) return spec_at(in, index);
    index -= space_size(in);
  }
  return {};
}

std::vector<DistillerSpec> sample_specs(int64_t n, uint64_t seed) {
  std::mt19937_64 g(seed);
  std::vector<DistillerSpec> out;
  const int64_t total = space_size();
  for (int64_t i = 0; i < n; ++i) out.push_back(spec_at(uniform_index(g, total)));
  return out;
}

std::vector<DistillerSpec> sample_specs(Input in, int64_t n, uint64_t seed) {
  std::mt19937_64 g(seed);
  std::vector<DistillerSpec> out;
  const int64_t total = space_size(in);
  for (int64_t i = 0; i < n; ++i) out.push_back(spec_at(in, uniform_index(g, total)));
  return out;
}

}  // namespace detforge::kd

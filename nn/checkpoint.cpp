#include "nn/checkpoint.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <utility>

#include "nn/serialization.h"
#include "tensor/error.h"
#include "tensor/random.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace detforge::nn {

json read_json_file(const std::string& path, const std::string& who) {
  std::ifstream f(path);
  if (!f) throw IOError(str_cat("[", who, "] cannot open ", path));
  try {
    return json::parse(f);
  } catch (const json::exception& e) {
    throw ConfigError(str_cat("[", who, "] ", path, ": invalid JSON: ", e.what()));
  }
}

void apply_json_overrides(json& j, const std::vector<std::string>& sets, const std::string& who) {
  json result = j;  // j is untouched when an override fails
  for (const std::string& set : sets) {
    auto fail = [&](const std::string& why) {
      throw ConfigError(str_cat("[", who, "] --set '", set, "': ", why));
    };
    const size_t eq = set.find('=');
    if (eq == std::string::npos || eq == 0) fail("expected KEY.PATH=VALUE");
    const std::string path = set.substr(0, eq), text = set.substr(eq + 1);
    json value = json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (value.is_discarded()) value = text;  // a bare word: a string
    json* node = &result;
    std::string done;  // the path walked so far, for errors
    size_t start = 0;
    while (true) {
      const size_t dot = path.find('.', start);
      const std::string key = path.substr(start, dot == std::string::npos ? dot : dot - start);
      if (key.empty()) fail("empty key in the path");
      const bool last = dot == std::string::npos;
      if (node->is_array()) {
        if (key.find_first_not_of("0123456789") != std::string::npos)
          fail(str_cat(done, " is an array: expected an index, got '", key, "'"));
        // Compared as text first: stoul would throw a non-detforge error on a huge index.
        const size_t i = key.size() > 9 ? node->size() : std::stoul(key);
        if (i >= node->size())
          fail(str_cat(done, "[", key, "]: index out of range (size ", node->size(), ")"));
        node = &(*node)[i];
      } else {
        if (node->is_null()) *node = json::object();
        if (!node->is_object()) fail(str_cat(done, " is not an object"));
        node = &(*node)[key];
      }
      done += (done.empty() ? "" : ".") + key;
      if (last) break;
      start = dot + 1;
    }
    *node = std::move(value);
  }
  j = std::move(result);
}

json load_run_config(const std::string& config_path, const json& resume_state,
                     const std::vector<std::string>& sets, const std::string& who) {
  json cfg;
  if (!config_path.empty())
    cfg = read_json_file(config_path, who);
  else if (!resume_state.is_null())
    cfg = resume_state.at("config");
  else
    throw ConfigError(str_cat("[", who, "] --config is required (or --resume a checkpoint)"));
  apply_json_overrides(cfg, sets, who);
  return cfg;
}

void write_json_file(const std::string& path, const json& j, const std::string& who) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp);
    if (!f) throw IOError(str_cat("[", who, "] cannot write ", tmp));
    f << j.dump(2) << "\n";
  }
  fs::rename(tmp, path);
}

void save_checkpoint(const std::string& dir, const Module& model, const Optimizer& optimizer,
                     const json& state) {
  fs::create_directories(dir);
  const fs::path d(dir);
  save_state_dict(model, (d / "model.safetensors").string());
  optimizer.state_dict().save((d / "optimizer.safetensors").string());
  write_json_file((d / "state.json").string(), state, "checkpoint");
}

json load_checkpoint(const std::string& dir, Module& model, Optimizer& optimizer,
                     const std::string& who) {
  const fs::path d(dir);
  json state = read_json_file((d / "state.json").string(), who);
  load_module(model, (d / "model.safetensors").string());
  optimizer.load_state_dict(OptimizerState::load((d / "optimizer.safetensors").string()));
  return state;
}

namespace {
// The directories <out>/<prefix><N>, sorted by N.
std::vector<std::pair<long long, fs::path>> checkpoint_dirs(const std::string& out,
                                                            const std::string& prefix) {
  std::vector<std::pair<long long, fs::path>> found;
  if (!fs::is_directory(out)) return found;
  for (const auto& e : fs::directory_iterator(out)) {
    const std::string name = e.path().filename().string();
    if (!e.is_directory() || name.rfind(prefix, 0) != 0) continue;
    const std::string num = name.substr(prefix.size());
    if (num.empty() || num.find_first_not_of("0123456789") != std::string::npos) continue;
    found.push_back({std::stoll(num), e.path()});
  }
  std::sort(found.begin(), found.end());
  return found;
}
}  // namespace

void prune_checkpoints(const std::string& out, const std::string& prefix, int keep) {
  if (keep <= 0) return;
  const auto found = checkpoint_dirs(out, prefix);
  for (size_t i = 0; i + keep < found.size(); ++i) fs::remove_all(found[i].second);
}

std::string latest_checkpoint(const std::string& out, const std::string& prefix) {
  const auto found = checkpoint_dirs(out, prefix);
  for (auto it = found.rbegin(); it != found.rend(); ++it)
    if (fs::exists(it->second / "state.json")) return it->second.string();
  return "";
}

json default_rng_state() {
  const Generator& g = default_generator();
  return {{"seed", g.seed()}, {"offset", g.offset()}};
}

void set_default_rng_state(const json& state) {
  Generator& g = default_generator();
  g.manual_seed(state.at("seed").get<uint64_t>());
  g.set_offset(state.at("offset").get<uint64_t>());
}

std::string format_duration(double s) {
  char buf[32];
  const long t = static_cast<long>(s + 0.5);
  if (t >= 3600)
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", t / 3600, (t / 60) % 60);
  else
    std::snprintf(buf, sizeof buf, "%ldm%02lds", t / 60, t % 60);
  return buf;
}

}  // namespace detforge::nn

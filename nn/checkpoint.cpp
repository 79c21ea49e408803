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

void prune_checkpoints(const std::string& out, const std::string& prefix, int keep) {
  if (keep <= 0 || !fs::is_directory(out)) return;
  std::vector<std::pair<long long, fs::path>> found;
  for (const auto& e : fs::directory_iterator(out)) {
    const std::string name = e.path().filename().string();
    if (!e.is_directory() || name.rfind(prefix, 0) != 0) continue;
    const std::string num = name.substr(prefix.size());
    if (num.empty() || num.find_first_not_of("0123456789") != std::string::npos) continue;
    found.push_back({std::stoll(num), e.path()});
  }
  std::sort(found.begin(), found.end());
  for (size_t i = 0; i + keep < found.size(); ++i) fs::remove_all(found[i].second);
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

#include "detection/detector.h"

#include <map>
#include <mutex>

#include "autograd/elementwise.h"
#include "tensor/error.h"

namespace detforge::detection {
namespace {

std::map<std::string, DetectorBuilder>& registry() {
  static std::map<std::string, DetectorBuilder> r;
  return r;
}
std::mutex& registry_mutex() {
  static std::mutex m;
  return m;
}

}  // namespace

Tensor total_loss(const LossMap& losses) {
  DF_CHECK(!losses.empty(), ShapeError, "[total_loss] no losses");
  Tensor sum = losses.front().second;
  for (size_t i = 1; i < losses.size(); ++i) sum = add(sum, losses[i].second);
  return sum;
}

void register_detector(const std::string& type, DetectorBuilder builder) {
  std::lock_guard<std::mutex> lock(registry_mutex());
  registry()[type] = std::move(builder);
}

std::vector<std::string> detector_types() {
  std::lock_guard<std::mutex> lock(registry_mutex());
  std::vector<std::string> out;
  for (const auto& kv : registry()) out.push_back(kv.first);
  return out;
}

std::shared_ptr<Detector> build_detector(const nlohmann::json& model, const std::string& path) {
  DF_CHECK(model.is_object(), ConfigError, "[detector] ", path, ": expected an object, got ",
           model.type_name());
  DF_CHECK(model.contains("type") && model["type"].is_string(), ConfigError, "[detector] ", path,
           ".type: expected a string naming the detector family");
  const std::string type = model["type"].get<std::string>();
  DetectorBuilder builder;
  {
    std::lock_guard<std::mutex> lock(registry_mutex());
    auto it = registry().find(type);
    if (it != registry().end()) builder = it->second;
  }
  if (!builder) {
    std::string known;
    for (const auto& t : detector_types()) known += (known.empty() ? "" : ", ") + t;
    throw ConfigError(
        str_cat("[detector] ", path, ".type: unknown detector '", type, "' (known: ", known, ")"));
  }
  return builder(model, path);
}

}  // namespace detforge::detection

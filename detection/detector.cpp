#include "detection/detector.h"

#include "autograd/elementwise.h"
#include "nn/registry.h"
#include "tensor/error.h"

namespace detforge::detection {
namespace {

nn::Registry<DetectorBuilder>& registry() {
  static nn::Registry<DetectorBuilder> r;
  return r;
}

}  // namespace

Tensor total_loss(const LossMap& losses) {
  DF_CHECK(!losses.empty(), ShapeError, "[total_loss] no losses");
  Tensor sum = losses.front().second;
  for (size_t i = 1; i < losses.size(); ++i) sum = add(sum, losses[i].second);
  return sum;
}

void register_detector(const std::string& type, DetectorBuilder builder) {
  registry().add(type, std::move(builder));
}

std::vector<std::string> detector_types() {
  return registry().names();
}

std::shared_ptr<Detector> build_detector(const nlohmann::json& model, const std::string& path) {
  DF_CHECK(model.is_object(), ConfigError, "[detector] ", path, ": expected an object, got ",
           model.type_name());
  DF_CHECK(model.contains("type") && model["type"].is_string(), ConfigError, "[detector] ", path,
           ".type: expected a string naming the detector family");
  const std::string type = model["type"].get<std::string>();
  DetectorBuilder builder = registry().find(type);
  if (!builder) {
    const std::string known = registry().names_joined();
    throw ConfigError(
        str_cat("[detector] ", path, ".type: unknown detector '", type, "' (known: ", known, ")"));
  }
  return builder(model, path);
}

}  // namespace detforge::detection

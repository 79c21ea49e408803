#include "detection/backbone.h"

#include "nn/json_reader.h"
#include "nn/mobilenet_v2.h"
#include "nn/norm.h"
#include "nn/registry.h"
#include "nn/resnet.h"
#include "nn/serialization.h"
#include "tensor/error.h"

namespace detforge::detection {
namespace {

nn::Registry<BackboneBuilder>& registry() {
  static nn::Registry<BackboneBuilder> r;
  return r;
}

// Loads a torchvision classification state dict into `body`, ignoring the classifier (detectors
// drop it) and nothing else: every other key must match by name and shape.
void load_weights(nn::Module& body, const nn::JsonReader& r, const std::string& head_prefix) {
  const std::string path = r.get_string("weights", "");
  if (path.empty()) return;
  nn::StateDict sd = nn::load_state_dict_file(path);
  for (auto it = sd.begin(); it != sd.end();)
    it = it->first.rfind(head_prefix, 0) == 0 ? sd.erase(it) : std::next(it);
  nn::StateDict own = body.state_dict();
  for (auto it = own.begin(); it != own.end(); ++it)
    if (it->first.rfind(head_prefix, 0) == 0) sd[it->first] = it->second;  // keep ours
  const nn::LoadResult res = body.load_state_dict(sd, /*strict=*/false);
  DF_CHECK(res.missing.empty() && res.unexpected.empty(), ConfigError, "[backbone] ",
           r.key_path("weights"), ": '", path, "' does not match the backbone (",
           res.missing.size(), " missing keys, first '",
           res.missing.empty() ? "" : res.missing.front(), "'; ", res.unexpected.size(),
           " unexpected, first '", res.unexpected.empty() ? "" : res.unexpected.front(), "')");
}

std::shared_ptr<Backbone> build_resnet(const nlohmann::json& j, const std::string& path) {
  nn::JsonReader r(j, path, "backbone");
  r.allow({"type", "norm", "gn_groups", "weights"});
  const std::string type = r.get_string("type", "");
  nn::ResNetConfig cfg;
  if (type == "resnet18" || type == "resnet34") {
    cfg.layers =
        type == "resnet18" ? std::vector<int64_t>{2, 2, 2, 2} : std::vector<int64_t>{3, 4, 6, 3};
  } else {
    cfg.bottleneck = true;
    cfg.layers = type == "resnet101" || type == "resnext101_32x8d"
                     ? std::vector<int64_t>{3, 4, 23, 3}
                     : std::vector<int64_t>{3, 4, 6, 3};
    if (type == "resnext50_32x4d") cfg.groups = 32, cfg.width_per_group = 4;
    if (type == "resnext101_32x8d") cfg.groups = 32, cfg.width_per_group = 8;
  }
  const std::string norm = r.get_string("norm", "bn", {"bn", "gn_ws"});
  if (norm == "gn_ws") {  // SM-NAS: GroupNorm + weight standardization everywhere
    const int64_t groups = r.get_int("gn_groups", 32, 1);
    cfg.weight_standardization = true;
    cfg.norm_layer = [groups](int64_t c) { return std::make_shared<nn::GroupNorm>(groups, c); };
  }
  auto body = std::make_shared<nn::ResNet>(cfg);
  load_weights(*body, r, "fc.");
  const int64_t e = cfg.bottleneck ? 4 : 1;
  return std::make_shared<ModuleBackbone<nn::ResNet>>(
      body, std::vector<int64_t>{64 * e, 128 * e, 256 * e, 512 * e});
}

std::shared_ptr<Backbone> build_mobilenet_v2(const nlohmann::json& j, const std::string& path) {
  nn::JsonReader r(j, path, "backbone");
  r.allow({"type", "weights"});
  auto body = nn::mobilenet_v2();
  load_weights(*body, r, "classifier.");
  return std::make_shared<ModuleBackbone<nn::MobileNetV2>>(body,
                                                           std::vector<int64_t>{24, 32, 96, 1280});
}

const bool kBuiltins = [] {
  for (const char* t :
       {"resnet18", "resnet34", "resnet50", "resnet101", "resnext50_32x4d", "resnext101_32x8d"})
    register_backbone(t, build_resnet);
  register_backbone("mobilenet_v2", build_mobilenet_v2);
  return true;
}();

}  // namespace

void register_backbone(const std::string& type, BackboneBuilder builder) {
  registry().add(type, std::move(builder));
}

std::vector<std::string> backbone_types() {
  (void)kBuiltins;
  return registry().names();
}

std::shared_ptr<Backbone> build_backbone(const nlohmann::json& cfg, const std::string& path) {
  (void)kBuiltins;
  nn::JsonReader r(cfg, path, "backbone");
  const std::string type = r.get_string("type", "");
  BackboneBuilder builder = registry().find(type);
  if (!builder) {
    const std::string known = registry().names_joined();
    throw ConfigError(str_cat("[backbone] ", r.key_path("type"), ": unknown backbone '", type,
                              "' (known: ", known, ")"));
  }
  return builder(cfg, path);
}

}  // namespace detforge::detection

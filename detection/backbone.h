// Backbones of detectors: any module that yields C2..C5 (strides 4, 8, 16, 32), behind one
// interface, and a registry that builds them from JSON ("backbone": {"type": ...}). nn/ provides
// the static and elastic networks; layers above nn (nas: SM-NAS codes) register their own types.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nn/module.h"

namespace detforge::detection {

class DETFORGE_API Backbone : public nn::Module {
 public:
  virtual std::vector<Tensor> forward_features(const Tensor& images) = 0;  // C2, C3, C4, C5
  virtual std::vector<int64_t> feature_channels() const = 0;               // of C2..C5
  std::string type_name() const override { return "Backbone"; }
};

// Wraps a network M with `std::vector<Tensor> forward_features(const Tensor&)` as child "body"
// (torchvision's BackboneWithFPN naming: "backbone.body.layer1...").
template <class M>
class ModuleBackbone : public nn::Cloneable<ModuleBackbone<M>, Backbone> {
 public:
  ModuleBackbone(std::shared_ptr<M> body, std::vector<int64_t> channels)
      : channels_(std::move(channels)) {
    this->register_module("body", std::move(body));
  }
  std::vector<Tensor> forward_features(const Tensor& images) override {
    return this->template child<M>("body").forward_features(images);
  }
  std::vector<int64_t> feature_channels() const override { return channels_; }
  M& body() { return this->template child<M>("body"); }

 private:
  std::vector<int64_t> channels_;
};

using BackboneBuilder =
    std::function<std::shared_ptr<Backbone>(const nlohmann::json& cfg, const std::string& path)>;
DETFORGE_API void register_backbone(const std::string& type, BackboneBuilder builder);
// {"type": "resnet18" | "resnet34" | "resnet50" | "resnet101" | "resnext50_32x4d" |
//  "resnext101_32x8d" | "mobilenet_v2" | (registered elsewhere) ..., "norm": "bn" | "gn_ws",
//  "gn_groups": 32, "weights": "path.safetensors" (optional: a torchvision state dict of the
//  classification network, loaded strictly except its classifier)}
DETFORGE_API std::shared_ptr<Backbone> build_backbone(const nlohmann::json& cfg,
                                                      const std::string& path = "model.backbone");
DETFORGE_API std::vector<std::string> backbone_types();

}  // namespace detforge::detection

// Classification models for `detforge train-cls`, built from the "model" object of a config by a
// registry of builders keyed by "type". Built in:
//
//   "small_cnn"    static: per entry of "channels" (default [32, 64, 128]) a 3x3 conv-BN-ReLU
//                  (stride 2 from the second on) repeated "depth" times (default 2), global average
//                  pool, linear.
//   "resnet"       static torchvision ResNet (nn/resnet.h) for 1-channel inputs: "layers"
//                  (default [2, 2, 2, 2]), "bottleneck" (false), "width_per_group" (64).
//   "elastic_cnn"  a small nn::Supernet (nas/elastic_cnn.h): elastic depth, width and kernel per
//                  stage, for testing supernet training end to end before ElasticResNet lands.
//
// Adding a model (e.g. ElasticResNet): call register_cls_model("elastic_resnet", builder) before
// make_cls_model runs, e.g. one line in register_builtin_cls_models() in cls_models.cpp. The
// builder reads its keys with JsonReader (nas/config_util.h) so errors name the key path, and
// returns an nn::Module whose forward(x [N, in_channels, S, S]) gives logits [N, num_classes];
// if the module is an nn::Supernet, train-cls trains it with the supernet trainer.
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "nn/module.h"

namespace detforge::nas {

struct ClsModelSpec {
  nlohmann::json spec;         // the "model" object (with "type")
  std::string path = "model";  // its key path, for error messages
  int64_t in_channels = 1, num_classes = 10, image_size = 28;
};

using ClsModelBuilder = std::function<std::shared_ptr<nn::Module>(const ClsModelSpec&)>;

// Registers (or replaces) a builder.
DETFORGE_API void register_cls_model(const std::string& type, ClsModelBuilder builder);
// ConfigError "[train-cls] model.type: unknown model type "x" (known: ...)".
DETFORGE_API std::shared_ptr<nn::Module> make_cls_model(const ClsModelSpec& spec);
DETFORGE_API std::vector<std::string> cls_model_types();

}  // namespace detforge::nas

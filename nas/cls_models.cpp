#include "nas/cls_models.h"

#include <map>
#include <mutex>

#include "nas/config_util.h"
#include "nas/elastic_cnn.h"
#include "nn/activation.h"
#include "nn/conv.h"
#include "nn/elastic/elastic_resnet.h"
#include "nn/linear.h"
#include "nn/norm.h"
#include "nn/pooling.h"
#include "nn/resnet.h"
#include "nn/sequential.h"
#include "tensor/error.h"

namespace detforge::nas {

namespace {

std::shared_ptr<nn::Module> build_small_cnn(const ClsModelSpec& s) {
  JsonReader r(s.spec, s.path, "train-cls");
  r.allow({"type", "channels", "depth"});
  auto channels = r.get_int_list("channels", {32, 64, 128}, 1);
  const int64_t depth = r.get_int("depth", 2, 1);
  auto net = std::make_shared<nn::Sequential>();
  int64_t in = s.in_channels;
  for (size_t i = 0; i < channels.size(); ++i)
    for (int64_t b = 0; b < depth; ++b) {
      const int64_t stride = (i > 0 && b == 0) ? 2 : 1;
      net->push_back(std::make_shared<nn::Conv2d>(in, channels[i], 3, stride, 1, 1, 1, false));
      net->push_back(std::make_shared<nn::BatchNorm2d>(channels[i]));
      net->push_back(std::make_shared<nn::ReLU>());
      in = channels[i];
    }
  net->push_back(std::make_shared<nn::AdaptiveAvgPool2d>(Shape{1, 1}));
  net->push_back(std::make_shared<nn::Flatten>());
  net->push_back(std::make_shared<nn::Linear>(in, s.num_classes));
  return net;
}

std::shared_ptr<nn::Module> build_resnet(const ClsModelSpec& s) {
  JsonReader r(s.spec, s.path, "train-cls");
  r.allow({"type", "layers", "bottleneck", "width_per_group"});
  nn::ResNetConfig cfg;
  cfg.layers = r.get_int_list("layers", {2, 2, 2, 2}, 1);
  if (cfg.layers.size() != 4) r.fail("layers", "4 stage depths");
  cfg.bottleneck = r.get_bool("bottleneck", false);
  cfg.width_per_group = r.get_int("width_per_group", 64, 1);
  cfg.in_channels = s.in_channels;
  cfg.num_classes = s.num_classes;
  return std::make_shared<nn::ResNet>(cfg);
}

std::shared_ptr<nn::Module> build_elastic_cnn(const ClsModelSpec& s) {
  return std::make_shared<ElasticCNN>(elastic_cnn_options_from_json(s.spec, s.path), s.in_channels,
                                      s.num_classes);
}

// ElasticResNet (nn/elastic/elastic_resnet.h) from a preset, with optional per-stage overrides:
// {"type": "elastic_resnet", "preset": "small" | "joint_detnas_basic" | "joint_detnas_bottleneck" |
//  "ofa_resnet50", "planes": [..], "depths": [..], "width_mults": [..], "stem_channels": n}
// "depths" / "width_mults" replace every stage's choices; "planes" sets the number of stages.
std::shared_ptr<nn::Module> build_elastic_resnet(const ClsModelSpec& s) {
  JsonReader r(s.spec, s.path, "train-cls");
  r.allow({"type", "preset", "planes", "depths", "width_mults", "stem_channels"});
  const std::string preset = r.get_string("preset", "small");
  nn::ElasticResNetOptions o;
  if (preset == "small")
    o = nn::small_resnet_options(s.num_classes, s.in_channels);
  else if (preset == "joint_detnas_basic" || preset == "joint_detnas_bottleneck")
    o = nn::joint_detnas_resnet_options(preset == "joint_detnas_bottleneck", s.num_classes);
  else if (preset == "ofa_resnet50")
    o = nn::ofa_resnet50_options(s.num_classes);
  else
    r.fail("preset", "small, joint_detnas_basic, joint_detnas_bottleneck or ofa_resnet50");
  o.in_channels = s.in_channels;
  o.num_classes = s.num_classes;
  if (r.has("planes")) {
    o.planes = r.get_int_list("planes", {}, 1);
    if (o.planes.empty()) r.fail("planes", "a non-empty list");
    o.stages.resize(o.planes.size(), o.stages.back());
  }
  if (r.has("depths")) {
    auto d = r.get_int_list("depths", {}, 1);
    for (auto& st : o.stages) st.depths = d;
  }
  if (r.has("width_mults")) {
    auto w = r.get_double_list("width_mults", {});
    for (double v : w)
      if (!(v > 0)) r.fail("width_mults", "positive numbers");
    for (auto& st : o.stages) st.width_mults = w;
  }
  o.stem_channels = r.get_int("stem_channels", o.stem_channels, 1);
  return std::make_shared<nn::ElasticResNet>(o);
}

std::mutex& registry_mutex() {
  static std::mutex m;
  return m;
}

std::map<std::string, ClsModelBuilder>& registry() {
  static std::map<std::string, ClsModelBuilder> r;
  return r;
}

// The built-in model types. Add new ones here (one register_cls_model line each).
void register_builtin_cls_models() {
  static bool done = false;
  if (done) return;
  done = true;
  auto& r = registry();
  r.emplace("small_cnn", build_small_cnn);
  r.emplace("resnet", build_resnet);
  r.emplace("elastic_cnn", build_elastic_cnn);
  r.emplace("elastic_resnet", build_elastic_resnet);
}

}  // namespace

void register_cls_model(const std::string& type, ClsModelBuilder builder) {
  std::lock_guard<std::mutex> g(registry_mutex());
  register_builtin_cls_models();
  registry()[type] = std::move(builder);
}

std::vector<std::string> cls_model_types() {
  std::lock_guard<std::mutex> g(registry_mutex());
  register_builtin_cls_models();
  std::vector<std::string> out;
  for (const auto& [k, v] : registry()) out.push_back(k);
  return out;
}

std::shared_ptr<nn::Module> make_cls_model(const ClsModelSpec& spec) {
  JsonReader r(spec.spec, spec.path, "train-cls");
  if (!spec.spec.contains("type")) r.fail("type", "a model type");
  const std::string type = r.get_string("type", "");
  ClsModelBuilder b;
  {
    std::lock_guard<std::mutex> g(registry_mutex());
    register_builtin_cls_models();
    auto it = registry().find(type);
    if (it == registry().end()) {
      std::string known;
      for (const auto& [k, v] : registry()) known += (known.empty() ? "" : ", ") + k;
      throw ConfigError(str_cat("[train-cls] ", r.key_path("type"), ": unknown model type \"", type,
                                "\" (known: ", known, ")"));
    }
    b = it->second;
  }
  return b(spec);
}

}  // namespace detforge::nas

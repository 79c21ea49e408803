#include "nas/search/student.h"

#include <cstdio>
#include <filesystem>

#include "detection/backbone.h"
#include "detection/det_train.h"
#include "detection/faster_rcnn.h"
#include "detection/static_resnet_backbone.h"
#include "nas/profiler/flops.h"
#include "nn/checkpoint.h"
#include "nn/resnet.h"
#include "nn/sequential.h"
#include "nn/serialization.h"
#include "nn/static_resnet.h"
#include "tensor/error.h"

namespace detforge::nas {
namespace {
using nlohmann::json;
constexpr const char* kWho = "search";

// The block specs of a ResNet-family network (children "layer1".."layer4" of ResNetBlocks).
std::vector<std::vector<nn::BlockSpec>> block_specs_of(const nn::Module& body,
                                                       const std::string& path) {
  std::vector<std::vector<nn::BlockSpec>> stages;
  for (int s = 1; s <= 4; ++s) {
    const auto& layer = body.child<nn::Sequential>("layer" + std::to_string(s));
    stages.emplace_back();
    for (size_t b = 0; b < layer.size(); ++b) {
      const auto* blk = dynamic_cast<const nn::ResNetBlock*>(&layer[b]);
      DF_CHECK(blk != nullptr, ConfigError, "[", kWho, "] ", path,
               ": the backbone is not a ResNet of BasicBlock / Bottleneck blocks");
      const nn::BlockSpec spec = blk->spec();
      DF_CHECK(spec.groups == 1, ConfigError, "[", kWho, "] ", path,
               ": grouped (ResNeXt) blocks cannot be written as a static_resnet student");
      stages.back().push_back(spec);
    }
  }
  return stages;
}

detection::Backbone& backbone_of(detection::Detector& det) {
  auto* m = dynamic_cast<nn::Module*>(&det);
  return m->child<detection::Backbone>("backbone");
}

}  // namespace

json student_model_json(const json& model, const std::string& path) {
  DF_CHECK(model.is_object() && model.value("type", "") == "faster_rcnn", ConfigError, "[", kWho,
           "] ", path, ".type: the student must be a \"faster_rcnn\" (two-stage FPN) detector");
  DF_CHECK(model.contains("backbone") && model.at("backbone").is_object(), ConfigError, "[", kWho,
           "] ", path, ".backbone: missing");
  json out = model;
  json bb = model.at("backbone");
  const std::string type = bb.value("type", "");
  if (type == "static_resnet") return out;
  DF_CHECK(type == "resnet18" || type == "resnet34" || type == "resnet50" || type == "resnet101",
           ConfigError, "[", kWho, "] ", path, ".backbone.type: \"", type,
           "\" is not a student backbone (static_resnet, resnet18/34/50/101)");
  DF_CHECK(bb.value("norm", "bn") == "bn", ConfigError, "[", kWho, "] ", path,
           ".backbone.norm: students use BatchNorm (network slimming prunes by BN gamma)");
  bb.erase("weights");  // the base detector's own weights replace them
  auto built = detection::build_backbone(bb, path + ".backbone");
  const auto stages = block_specs_of(built->child("body"), path + ".backbone");
  const auto& conv1 = built->child("body").child("conv1");
  nn::ResNetStemSpec stem;
  stem.kind = "torchvision";
  stem.in_channels = conv1.param("weight").size(1);
  stem.channels = conv1.param("weight").size(0);
  out["backbone"] = detection::static_resnet_backbone_json(stem, stages);
  return out;
}

Student load_student(const json& model, const std::string& weights) {
  Student s{model, detection::build_detector(model, "model")};
  if (!weights.empty()) nn::load_module(*s.detector, weights);
  return s;
}

Student evolve_student(const Student& s, const MorphAction& action, json* record) {
  DF_CHECK(!(action.type == MorphActionType::kChannelPrune && action.channel.prune_residual),
           ConfigError, "[", kWho,
           "] channel_prune: prune_residual changes the backbone's output channels (the FPN's "
           "input), which the student search keeps fixed");
  auto& body = backbone_of(*s.detector).child("body");
  auto* sr = dynamic_cast<nn::StaticResNet*>(&body);
  DF_CHECK(sr != nullptr, ConfigError, "[", kWho,
           "] the student's backbone is not a static_resnet (use student_model_json)");
  std::shared_ptr<nn::Module> morphed = f_evolve(body, action, record);
  const auto stages = block_specs_of(*morphed, "student.backbone");
  Student out;
  out.model = s.model;
  out.model["backbone"] = detection::static_resnet_backbone_json(sr->stem(), stages);
  out.detector = detection::build_detector(out.model, "model");
  auto* src = dynamic_cast<nn::Module*>(s.detector.get());
  auto* dst = dynamic_cast<nn::Module*>(out.detector.get());
  const auto params = src->named_parameters();
  if (!params.empty()) dst->to(params.front().second.device());
  // Everything but the backbone network from the old detector, the network from the morphed one.
  nn::StateDict sd = src->state_dict();
  for (auto it = sd.begin(); it != sd.end();)
    it = it->first.rfind("backbone.body.", 0) == 0 ? sd.erase(it) : std::next(it);
  for (auto& [k, v] : morphed->state_dict()) sd["backbone.body." + k] = v;
  dst->load_state_dict(sd, /*strict=*/true);
  dst->train(src->is_training());
  return out;
}

StudentMacs student_macs(detection::Detector& det, const data::ResizeSize& size) {
  auto& two = dynamic_cast<detection::TwoStageDetector&>(det);
  const ModelCost cost = profile_cost(det, {1, 3, size.short_side, size.long_side},
                                      [&](const Tensor& x) { two.extract_features(x); });
  StudentMacs m;
  m.macs = cost.macs;
  for (const auto& l : cost.layers)
    if (l.path.rfind("backbone.body.", 0) == 0) m.backbone_macs += l.macs;
  return m;
}

std::vector<int64_t> student_depths(const json& model) {
  std::vector<int64_t> d;
  for (const auto& st : model.at("backbone").at("stages"))
    d.push_back(static_cast<int64_t>(st.size()));
  return d;
}

}  // namespace detforge::nas

namespace fs = std::filesystem;
using nlohmann::json;

namespace detforge::nas {

void run_morph_student(const MorphStudentArgs& a) {
  DF_CHECK(!a.config.empty() && !a.weights.empty(), ConfigError,
           "[search] morph: --config and --weights are required");
  DF_CHECK(!a.actions.empty(), ConfigError, "[search] morph: at least one --action");
  json cfg = nn::read_json_file(a.config, "search");
  DF_CHECK(cfg.contains("model"), ConfigError, "[search] ", a.config, ": no \"model\"");
  cfg["model"] = student_model_json(cfg.at("model"), "model");
  const detection::DetTrainConfig c = detection::parse_det_train_config(cfg);
  Student s = load_student(cfg.at("model"), a.weights);
  auto macs = [&](Student& st) { return student_macs(*st.detector, c.test_size).macs; };
  json info{{"params_before", s.detector->num_parameters()},
            {"macs_before", macs(s)},
            {"records", json::array()}};
  for (size_t i = 0; i < a.actions.size(); ++i) {
    json j;
    try {
      j = json::parse(a.actions[i]);
    } catch (const json::exception&) {
      throw ConfigError(str_cat("[search] --action #", i + 1, ": invalid JSON: ", a.actions[i]));
    }
    json rec;
    s = evolve_student(s, MorphAction::from_json(j), &rec);
    info["records"].push_back(rec);
  }
  info["params_after"] = s.detector->num_parameters();
  info["macs_after"] = macs(s);
  info["macs_input"] = {c.test_size.short_side, c.test_size.long_side};
  fs::create_directories(a.out);
  const fs::path out(a.out);
  nn::save_state_dict(*s.detector, (out / "model.safetensors").string());
  cfg["model"] = s.model;
  nn::write_json_file((out / "config.json").string(), cfg, "search");
  nn::write_json_file((out / "morph.json").string(), info, "search");
  std::printf("morphed: %lld -> %lld parameters, %s -> %s MACs (backbone + FPN at %lldx%lld)\n",
              static_cast<long long>(info["params_before"].get<int64_t>()),
              static_cast<long long>(info["params_after"].get<int64_t>()),
              human_count(info["macs_before"].get<double>()).c_str(),
              human_count(info["macs_after"].get<double>()).c_str(),
              static_cast<long long>(c.test_size.short_side),
              static_cast<long long>(c.test_size.long_side));
  std::printf("model %s\nconfig %s\n", (out / "model.safetensors").string().c_str(),
              (out / "config.json").string().c_str());
  std::fflush(stdout);
}

}  // namespace detforge::nas

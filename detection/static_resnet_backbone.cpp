// Backbone type "static_resnet": an nn::StaticResNet described block by block, the form in which
// extracted supernet subnets (nas/etp_detector.h) and morphed students are written to configs:
//   {"type": "static_resnet",
//    "stem": {"kind": "torchvision" | "ofa" | "small", "in_channels": 3, "channels": 64,
//             "mid_channels": 32},
//    "stages": [[{"bottleneck": false, "in": 64, "mid": 64, "out": 64, "stride": 1}, ...], ...]}
// Exactly four stages (C2..C5). Errors name key paths ("[backbone]
// model.backbone.stages[1][0].out").
#include "detection/static_resnet_backbone.h"

#include "detection/backbone.h"
#include "nn/json_reader.h"
#include "nn/static_resnet.h"
#include "tensor/error.h"

namespace detforge::detection {
namespace {

std::shared_ptr<Backbone> build_static_resnet(const nlohmann::json& j, const std::string& path) {
  nn::JsonReader r(j, path, "backbone");
  r.allow({"type", "stem", "stages"});
  nn::ResNetStemSpec stem;
  {
    nn::JsonReader s(r.get_object("stem"), r.key_path("stem"), "backbone");
    s.allow({"kind", "in_channels", "channels", "mid_channels"});
    stem.kind = s.get_string("kind", stem.kind, {"torchvision", "ofa", "small"});
    stem.in_channels = s.get_int("in_channels", stem.in_channels, 1);
    stem.channels = s.get_int("channels", stem.channels, 1);
    stem.mid_channels = s.get_int("mid_channels", stem.mid_channels, 1);
  }
  if (!r.has("stages") || !j.at("stages").is_array() || j.at("stages").size() != 4)
    r.fail("stages", "4 lists of blocks (C2..C5)");
  std::vector<std::vector<nn::BlockSpec>> stages;
  int64_t prev = stem.channels;
  for (size_t si = 0; si < 4; ++si) {
    const auto& st = j.at("stages")[si];
    const std::string sp = str_cat(r.key_path("stages"), "[", si, "]");
    DF_CHECK(st.is_array() && !st.empty(), ConfigError, "[backbone] ", sp,
             ": expected a non-empty list of blocks");
    stages.emplace_back();
    for (size_t bi = 0; bi < st.size(); ++bi) {
      nn::JsonReader b(st[bi], str_cat(sp, "[", bi, "]"), "backbone");
      b.allow({"bottleneck", "in", "mid", "out", "stride"});
      nn::BlockSpec spec;
      spec.bottleneck = b.get_bool("bottleneck", false);
      spec.in_channels = b.get_int("in", prev, 1);
      if (spec.in_channels != prev) b.fail("in", str_cat(prev, " (the previous block's out)"));
      spec.out_channels = b.get_int("out", 0, 1);
      if (!b.has("out")) b.fail("out", "an integer >= 1");
      spec.mid_channels = b.get_int("mid", spec.out_channels, 1);
      spec.stride = b.get_int("stride", 1, 1);
      prev = spec.out_channels;
      stages.back().push_back(spec);
    }
  }
  auto body = std::make_shared<nn::StaticResNet>(stem, stages, 0);
  return std::make_shared<ModuleBackbone<nn::StaticResNet>>(body, body->feature_channels());
}

const bool kRegistered = [] {
  register_backbone("static_resnet", build_static_resnet);
  return true;
}();

}  // namespace

nlohmann::json static_resnet_backbone_json(const nn::ResNetStemSpec& s,
                                           const std::vector<std::vector<nn::BlockSpec>>& stages) {
  nlohmann::json j;
  j["type"] = "static_resnet";
  j["stem"] = {{"kind", s.kind},
               {"in_channels", s.in_channels},
               {"channels", s.channels},
               {"mid_channels", s.mid_channels}};
  j["stages"] = nlohmann::json::array();
  for (const auto& st : stages) {
    nlohmann::json blocks = nlohmann::json::array();
    for (const auto& b : st)
      blocks.push_back({{"bottleneck", b.bottleneck},
                        {"in", b.in_channels},
                        {"mid", b.mid_channels},
                        {"out", b.out_channels},
                        {"stride", b.stride}});
    j["stages"].push_back(blocks);
  }
  return j;
}

}  // namespace detforge::detection

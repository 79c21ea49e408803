// Our necks and heads, built from detection configs, have exactly the state-dict names and shapes
// of the matching parts of torchvision 0.14's full-size detectors (fasterrcnn_resnet50_fpn[_v2],
// retinanet_resnet50_fpn[_v2]), listed in tests/fixtures/detection/torchvision_detector_keys.json
// by scripts/fixtures/gen_detection_module_fixtures.py (so their checkpoints' parts load strictly).
#include <gtest/gtest.h>

#include <fstream>

#include "detection/module_config.h"
#include "tests/test_util.h"

using namespace detforge;
using namespace detforge::detection;
using nlohmann::json;

namespace {
const std::vector<int64_t> kResNet50 = {256, 512, 1024, 2048};

json expected() {
  std::ifstream f(std::string(DETFORGE_FIXTURE_DIR) + "/detection/torchvision_detector_keys.json");
  return json::parse(f);
}

void expect_same_keys(const nn::Module& m, const json& want, const std::string& what) {
  SCOPED_TRACE(what);
  auto sd = m.state_dict();
  EXPECT_EQ(sd.size(), want.size());
  for (auto it = want.begin(); it != want.end(); ++it) {
    auto found = sd.find(it.key());
    ASSERT_NE(found, sd.end()) << "missing " << it.key();
    EXPECT_EQ(found->second.shape(), it.value().get<Shape>()) << it.key();
  }
}
}  // namespace

TEST(TorchvisionDetectorKeys, FasterRcnnResNet50Fpn) {
  json e = expected().at("fasterrcnn_resnet50_fpn");
  auto fpn =
      build_neck(parse_neck(json::parse(R"({"type": "fpn", "extra": "maxpool"})")), kResNet50);
  expect_same_keys(*fpn, e.at("backbone.fpn."), "fpn");
  expect_same_keys(*build_rpn_head(parse_head(json::parse(R"({"type": "rpn"})")), 256),
                   e.at("rpn.head."), "rpn");
  BoxHeadConfig box = parse_box_head(json::object());
  expect_same_keys(*build_box_head(box, 256), e.at("roi_heads.box_head."), "box_head");
  expect_same_keys(*build_box_predictor(box), e.at("roi_heads.box_predictor."), "box_predictor");
}

TEST(TorchvisionDetectorKeys, FasterRcnnResNet50FpnV2) {
  json e = expected().at("fasterrcnn_resnet50_fpn_v2");
  auto fpn = build_neck(
      parse_neck(json::parse(R"({"type": "fpn", "extra": "maxpool", "norm": "bn"})")), kResNet50);
  expect_same_keys(*fpn, e.at("backbone.fpn."), "fpn");
  expect_same_keys(
      *build_rpn_head(parse_head(json::parse(R"({"type": "rpn", "conv_depth": 2})")), 256),
      e.at("rpn.head."), "rpn");
}

TEST(TorchvisionDetectorKeys, RetinaNetResNet50Fpn) {
  for (bool v2 : {false, true}) {
    json e = expected().at(v2 ? "retinanet_resnet50_fpn_v2" : "retinanet_resnet50_fpn");
    json neck = json::parse(R"({"type": "fpn", "in_levels": [3, 4, 5], "extra": "p6p7"})");
    if (v2) neck["p6_from"] = "c5";
    auto fpn = build_neck(parse_neck(neck), kResNet50);
    expect_same_keys(*fpn, e.at("backbone.fpn."), v2 ? "fpn v2" : "fpn");
    EXPECT_EQ(fpn->child<LastLevelP6P7>("extra_blocks").use_p5(), !v2);
    json head = json::parse(R"({"type": "retinanet", "num_anchors": 9, "num_classes": 91})");
    if (v2) head["norm"] = "gn";
    expect_same_keys(*build_retinanet_head(parse_head(head), 256), e.at("head."),
                     v2 ? "head v2" : "head");
  }
}

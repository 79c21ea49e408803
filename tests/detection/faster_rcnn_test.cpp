// FasterRCNN against torchvision 0.14 (tests/fixtures/detection/faster_rcnn_small.safetensors from
// scripts/fixtures/gen_faster_rcnn_fixtures.py): same weights, same inputs -> same proposals,
// detections and (with every candidate sampled) the same losses. Plus the JSON builder.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "autograd/grad_mode.h"
#include "tensor/safetensors.h"
#include "tests/detection/two_stage_test_util.h"
#include "tests/test_util.h"

using namespace detforge;
using namespace detforge::detection;
using nlohmann::json;

namespace {

struct Fixture {
  SafetensorsFile f;
  ImageSizes sizes{{96, 128}, {80, 112}};
  std::vector<data::DetTarget> targets;
  const Tensor& at(const std::string& k) const { return f.tensors.at(k); }
};

const Fixture& fixture() {
  static Fixture fx = [] {
    Fixture x;
    x.f = load_safetensors(DETFORGE_FIXTURE_DIR "/detection/faster_rcnn_small.safetensors");
    for (int i = 0; i < 2; ++i) {
      data::DetTarget t;
      t.boxes = x.at("gt_boxes." + std::to_string(i));
      t.labels = x.at("gt_labels." + std::to_string(i));
      x.targets.push_back(t);
    }
    return x;
  }();
  return fx;
}

std::shared_ptr<FasterRCNN> small_model(bool sample_all) {
  auto m = std::make_shared<FasterRCNN>(test::tiny_backbone(), test::tiny_neck(),
                                        test::tiny_rpn(sample_all), test::tiny_roi(sample_all), 5);
  nn::StateDict sd;
  for (const auto& kv : fixture().f.tensors)
    if (kv.first.rfind("model.", 0) == 0) sd[kv.first.substr(6)] = kv.second;
  auto res = m->load_state_dict(sd, true);
  EXPECT_TRUE(res.missing.empty());
  EXPECT_TRUE(res.unexpected.empty());
  return m;
}

// Row i of got equals row i of want (1e-4 relative per row), except that rows whose scores are
// within 1e-5 (float ties: their order depends on rounding) may be swapped with each other.
void expect_same_rows(const Tensor& got, const Tensor& want, const Tensor& scores) {
  ASSERT_EQ(got.shape(), want.shape());
  auto g = got.to_vector<float>(), w = want.to_vector<float>(), s = scores.to_vector<float>();
  const int64_t n = got.size(0);
  auto same = [&](int64_t i, int64_t j) {
    for (int c = 0; c < 4; ++c)
      if (std::abs(g[4 * i + c] - w[4 * j + c]) > 1e-4 * (1 + std::abs(w[4 * j + c]))) return false;
    return true;
  };
  int64_t swapped = 0;
  for (int64_t i = 0; i < n; ++i) {
    if (same(i, i)) continue;
    bool found = false;
    for (int64_t j = std::max<int64_t>(0, i - 3); j < std::min(n, i + 4) && !found; ++j)
      found = std::abs(s[j] - s[i]) <= 1e-5f && same(i, j);
    EXPECT_TRUE(found) << "row " << i << " of " << n << " differs";
    swapped += found;
  }
  EXPECT_LE(swapped, 4);
}

}  // namespace

TEST(FasterRCNN, StateDictKeysAreTorchvisions) {
  auto m = std::make_shared<FasterRCNN>(test::tiny_backbone(), test::tiny_neck(),
                                        test::tiny_rpn(false), test::tiny_roi(false), 5);
  size_t n = 0;
  for (const auto& kv : fixture().f.tensors)
    if (kv.first.rfind("model.", 0) == 0) ++n;
  EXPECT_EQ(m->state_dict().size(), n);
  for (const auto& kv : m->state_dict())
    EXPECT_TRUE(fixture().f.tensors.count("model." + kv.first)) << kv.first;
}

TEST(FasterRCNN, EvalMatchesTorchvision) {
  const Fixture& fx = fixture();
  auto m = small_model(false);
  m->eval();
  {
    NoGradGuard ng;
    FeatureList f = m->extract_features(fx.at("images"));
    RpnOutput r = m->rpn().forward(f, {96, 128}, fx.sizes);
    for (int i = 0; i < 2; ++i) {
      SCOPED_TRACE(i);
      expect_same_rows(r.proposals[i], fx.at("eval.proposals." + std::to_string(i)), r.scores[i]);
    }
  }
  auto dets = m->forward_eval(fx.at("images"), fx.sizes);
  ASSERT_EQ(dets.size(), 2u);
  for (int i = 0; i < 2; ++i) {
    SCOPED_TRACE(i);
    const std::string s = std::to_string(i);
    expect_same_rows(dets[i].boxes, fx.at("eval.boxes." + s), dets[i].scores);
    DF_EXPECT_CLOSE(dets[i].scores, fx.at("eval.scores." + s), 1e-4);
    EXPECT_EQ(dets[i].labels.to_vector<int64_t>(), fx.at("eval.labels." + s).to_vector<int64_t>());
  }
}

TEST(FasterRCNN, TrainLossesMatchTorchvisionWhenEverythingIsSampled) {
  const Fixture& fx = fixture();
  auto m = small_model(true);
  m->train();
  LossMap losses = m->forward_train(fx.at("images"), fx.sizes, fx.targets);
  std::vector<std::string> names;
  for (const auto& l : losses) {
    names.push_back(l.first);
    SCOPED_TRACE(l.first);
    DF_EXPECT_CLOSE(l.second, fx.at("train." + l.first), 1e-4);
  }
  EXPECT_EQ(names, (std::vector<std::string>{"loss_classifier", "loss_box_reg", "loss_objectness",
                                             "loss_rpn_box_reg"}));
  Tensor total = total_loss(losses);
  total.backward();
  for (const auto& p : m->named_parameters()) {
    ASSERT_TRUE(p.second.grad().defined()) << p.first;
  }
}

TEST(FasterRCNN, BuildsFromJsonWithKeyPathErrors) {
  json cfg = json::parse(R"({"type": "faster_rcnn", "num_classes": 3,
    "backbone": {"type": "resnet18"},
    "neck": {"type": "fpn", "out_channels": 32, "extra": "maxpool"},
    "rpn": {"anchor_sizes": [[16], [32], [64], [128], [256]], "aspect_ratios": [0.5, 1.0, 2.0],
            "pre_nms_top_n_test": 100, "post_nms_top_n_test": 50},
    "roi_heads": {"representation_size": 64, "batch_size_per_image": 64},
    "postprocess": {"score_thresh": 0.0, "max_detections": 7}})");
  auto det = build_detector(cfg);
  EXPECT_EQ(det->num_classes(), 3);
  EXPECT_EQ(det->postprocess.max_detections, 7);
  auto sd = det->state_dict();
  EXPECT_TRUE(sd.count("backbone.body.layer1.0.conv1.weight"));
  EXPECT_TRUE(sd.count("backbone.fpn.inner_blocks.0.0.weight"));
  EXPECT_TRUE(sd.count("rpn.head.conv.0.0.weight"));
  EXPECT_EQ(sd.at("roi_heads.box_predictor.bbox_pred.weight").shape(), (Shape{16, 64}));
  det->eval();
  auto dets = det->forward_eval(test::randn({1, 3, 64, 96}), {{64, 90}});
  ASSERT_EQ(dets.size(), 1u);
  EXPECT_LE(dets[0].boxes.size(0), 7);

  auto err = [&](json c) -> std::string {
    try {
      build_detector(c);
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "";
  };
  json bad = cfg;
  bad["rpn"]["nms_tresh"] = 0.5;
  EXPECT_NE(err(bad).find("model.rpn.nms_tresh"), std::string::npos) << err(bad);
  bad = cfg;
  bad["roi_heads"]["bbox_reg_weights"] = {1, 2};
  EXPECT_NE(err(bad).find("model.roi_heads.bbox_reg_weights"), std::string::npos) << err(bad);
  bad = cfg;
  bad.erase("num_classes");
  EXPECT_NE(err(bad).find("model.num_classes"), std::string::npos) << err(bad);
  bad = cfg;
  bad["rpn"]["anchor_sizes"] = {32, 64};
  EXPECT_NE(err(bad).find("anchor_sizes"), std::string::npos) << err(bad);
}

// Cascade R-CNN: loss names and finiteness, eval shapes, stage chaining, the reduction of a
// 2-stage cascade with equal thresholds and identical stages, JSON config errors and a tiny
// overfit run.
#include <gtest/gtest.h>

#include <cmath>

#include <nlohmann/json.hpp>

#include "autograd/elementwise.h"
#include "autograd/grad_mode.h"
#include "detection/cascade_rcnn.h"
#include "nn/init.h"
#include "nn/optim/sgd.h"
#include "tests/detection/two_stage_test_util.h"
#include "tests/test_util.h"

using namespace detforge;
using namespace detforge::detection;
using nlohmann::json;

namespace {

const ImageSizes kSizes{{96, 128}, {80, 112}};

std::vector<data::DetTarget> targets() {
  std::vector<data::DetTarget> t(2);
  t[0].boxes =
      Tensor::from_vector<float>({10, 12, 50, 60, 60, 20, 120, 90, 30, 40, 46, 52}, {3, 4});
  t[0].labels = Tensor::from_vector<int64_t>({1, 3, 5}, {3});
  t[1].boxes = Tensor::from_vector<float>({5, 5, 70, 75, 40, 10, 100, 40}, {2, 4});
  t[1].labels = Tensor::from_vector<int64_t>({2, 4}, {2});
  return t;
}

Tensor images() {
  Tensor x = test::randn({2, 3, 96, 128}, DType::f32, 3);
  x.select(0, 1).narrow(1, 80, 16).zero_();
  x.select(0, 1).narrow(2, 112, 16).zero_();
  return x;
}

std::shared_ptr<CascadeRCNN> tiny_cascade(const CascadeConfig& c, bool sample_all) {
  return std::make_shared<CascadeRCNN>(test::tiny_backbone(), test::tiny_neck(),
                                       test::tiny_rpn(sample_all), c, 5);
}

CascadeConfig tiny_config(bool sample_all) {
  CascadeConfig c;
  c.base = test::tiny_roi(sample_all);
  c.base.smooth_l1_beta = 1.0;
  return c;
}

bool finite(const Tensor& t) {
  for (float v : t.to_vector<float>())
    if (!std::isfinite(v)) return false;
  return true;
}

}  // namespace

TEST(CascadeRCNN, TrainLossesAndEvalShapes) {
  auto m = tiny_cascade(tiny_config(false), false);
  EXPECT_TRUE(m->state_dict().count("roi_heads.box_head.2.fc7.weight"));
  EXPECT_EQ(m->state_dict().at("roi_heads.box_predictor.1.bbox_pred.weight").shape(),
            (Shape{4, 32}));
  EXPECT_EQ(m->state_dict().at("roi_heads.box_predictor.1.cls_score.weight").shape(),
            (Shape{6, 32}));
  m->train();
  LossMap losses = m->forward_train(images(), kSizes, targets());
  std::vector<std::string> names;
  for (const auto& l : losses) {
    names.push_back(l.first);
    EXPECT_EQ(l.second.numel(), 1);
    EXPECT_TRUE(finite(l.second)) << l.first;
  }
  EXPECT_EQ(names,
            (std::vector<std::string>{"s0.loss_classifier", "s0.loss_box_reg", "s1.loss_classifier",
                                      "s1.loss_box_reg", "s2.loss_classifier", "s2.loss_box_reg",
                                      "loss_objectness", "loss_rpn_box_reg"}));
  total_loss(losses).backward();
  for (const auto& p : m->named_parameters()) EXPECT_TRUE(p.second.grad().defined()) << p.first;

  m->eval();
  m->postprocess.score_thresh = 0.0;
  auto dets = m->forward_eval(images(), kSizes);
  ASSERT_EQ(dets.size(), 2u);
  for (int i = 0; i < 2; ++i) {
    const int64_t n = dets[i].boxes.size(0);
    EXPECT_GT(n, 0);
    EXPECT_LE(n, 100);
    EXPECT_EQ(dets[i].boxes.shape(), (Shape{n, 4}));
    EXPECT_EQ(dets[i].scores.shape(), (Shape{n}));
    auto s = dets[i].scores.to_vector<float>();
    for (int64_t j = 1; j < n; ++j) EXPECT_GE(s[j - 1], s[j]);
    for (int64_t l : dets[i].labels.to_vector<int64_t>()) {
      EXPECT_GE(l, 1);
      EXPECT_LE(l, 5);
    }
    auto b = dets[i].boxes.to_vector<float>();
    for (int64_t j = 0; j < n; ++j) {
      EXPECT_LE(b[4 * j + 2], kSizes[i][1]);
      EXPECT_LE(b[4 * j + 3], kSizes[i][0]);
    }
  }
}

TEST(CascadeRCNN, StagesChainRefinedBoxes) {
  auto m = tiny_cascade(tiny_config(false), false);
  m->eval();
  NoGradGuard ng;
  FeatureList f = m->extract_features(images());
  RpnOutput r = m->rpn().forward(f, {96, 128}, kSizes);
  auto chain = m->roi_heads().stage_rois(f, r.proposals, kSizes);
  ASSERT_EQ(chain.size(), 3u);
  for (int i = 0; i < 2; ++i) {
    DF_EXPECT_CLOSE(chain[0][i], r.proposals[i], 0);
    EXPECT_EQ(chain[1][i].shape(), r.proposals[i].shape());
  }
  // Stage 1's RoIs are stage 0's regression (weights 10, 10, 5, 5) applied to the proposals.
  auto& head0 = m->roi_heads().child("box_head").child<TwoMLPHead>("0");
  auto& pred0 = m->roi_heads().child("box_predictor").child<CascadeBoxPredictor>("0");
  MultiScaleRoIAlign pool({"0", "1", "2", "3"}, {7, 7}, 2);
  Tensor pooled = pool(feature_map(f), r.proposals, image_shapes(kSizes));
  BoxPredictions p = pred0.predict(head0.forward(pooled));
  Tensor dec = BoxCoder({10, 10, 5, 5}).decode(p.deltas, r.proposals);
  const int64_t n0 = r.proposals[0].size(0);
  DF_EXPECT_CLOSE(chain[1][0], clip_boxes_to_image(dec.narrow(0, 0, n0).reshape({-1, 4}), 96, 128),
                  1e-5);
  // A zero regression keeps the RoIs.
  auto& bp = pred0.child("bbox_pred");
  nn::init::constant_(bp.param("weight"), 0);
  nn::init::constant_(bp.param("bias"), 0);
  chain = m->roi_heads().stage_rois(f, r.proposals, kSizes);
  for (int i = 0; i < 2; ++i) DF_EXPECT_CLOSE(chain[1][i], r.proposals[i], 1e-5);
}

// Equal thresholds and box coders, every candidate sampled, stage 0 without regression and stage
// 1 a copy of stage 0: stage 1 sees the same RoIs (proposals + GT) and its losses are stage 0's
// times its loss weight.
TEST(CascadeRCNN, TwoEqualStagesReduceToOneStage) {
  CascadeConfig c = tiny_config(true);
  c.iou_thresholds = {0.5, 0.5};
  c.bbox_reg_weights = {{10, 10, 5, 5}, {10, 10, 5, 5}};
  c.loss_weights = {1.0, 0.5};
  auto m = tiny_cascade(c, true);
  auto& rh = m->roi_heads();
  auto& bp = rh.child("box_predictor").child("0").child("bbox_pred");
  nn::init::constant_(bp.param("weight"), 0);
  nn::init::constant_(bp.param("bias"), 0);
  nn::StateDict sd = rh.state_dict();
  for (auto& kv : sd) {
    std::string k = kv.first;
    const size_t pos = k.find(".1.");
    if (pos != std::string::npos) kv.second = sd.at(k.replace(pos, 3, ".0.")).clone();
  }
  rh.load_state_dict(sd);
  m->train();
  LossMap l = m->forward_train(images(), kSizes, targets());
  ASSERT_EQ(l.size(), 6u);
  EXPECT_GT(l[1].second.item(), 0.0);
  DF_EXPECT_CLOSE(l[2].second, mul(l[0].second, 0.5), 1e-5);
  DF_EXPECT_CLOSE(l[3].second, mul(l[1].second, 0.5), 1e-5);
}

TEST(CascadeRCNN, OverfitsOneBatch) {
  CascadeConfig c = tiny_config(false);
  c.base.batch_size_per_image = 64;
  auto m = tiny_cascade(c, false);
  m->train();
  std::vector<nn::ParamGroup> groups(1);
  for (const auto& p : m->named_parameters()) groups[0].params.push_back(p.second);
  groups[0].lr = 0.03;
  groups[0].momentum = 0.9;
  nn::SGD opt(groups);
  Tensor x = images();
  auto t = targets();
  double first = 0, last = 0;
  for (int step = 0; step < 80; ++step) {
    Tensor loss = total_loss(m->forward_train(x, kSizes, t));
    const double v = loss.item();
    ASSERT_TRUE(std::isfinite(v)) << "step " << step;
    if (step == 0) first = v;
    last = v;
    opt.zero_grad();
    loss.backward();
    opt.step();
  }
  RecordProperty("first_loss", std::to_string(first));
  RecordProperty("last_loss", std::to_string(last));
  EXPECT_LT(last, 0.5 * first) << "first " << first << " last " << last;
}

TEST(CascadeRCNN, BuildsFromJsonWithKeyPathErrors) {
  json cfg = json::parse(R"({"type": "cascade_rcnn", "num_classes": 4,
    "backbone": {"type": "resnet18"}, "neck": {"type": "fpn", "out_channels": 32},
    "rpn": {"pre_nms_top_n_test": 100, "post_nms_top_n_test": 50},
    "roi_heads": {"representation_size": 64, "iou_thresholds": [0.5, 0.6],
                  "loss_weights": [1, 0.5]}})");
  auto det = build_detector(cfg);
  EXPECT_EQ(det->num_classes(), 4);
  auto* c = dynamic_cast<CascadeRCNN*>(det.get());
  ASSERT_NE(c, nullptr);
  EXPECT_EQ(c->roi_heads().config().num_stages(), 2);
  EXPECT_EQ(c->roi_heads().config().bbox_reg_weights[1], (std::array<double, 4>{20, 20, 10, 10}));
  EXPECT_TRUE(det->state_dict().count("backbone.fpn.layer_blocks.3.0.weight"));
  auto err = [&](json j) -> std::string {
    try {
      build_detector(j);
    } catch (const ConfigError& e) {
      return e.what();
    }
    return "";
  };
  json bad = cfg;
  bad["roi_heads"]["iou_thresholds"] = {0.5};
  EXPECT_NE(err(bad).find("model.roi_heads.iou_thresholds"), std::string::npos) << err(bad);
  bad = cfg;
  bad["roi_heads"]["loss_weights"] = {1, 0.5, 0.25};
  EXPECT_NE(err(bad).find("model.roi_heads.loss_weights"), std::string::npos) << err(bad);
  bad = cfg;
  bad["roi_heads"]["bbox_reg_weights"] = {{10, 10, 5, 5}};
  EXPECT_NE(err(bad).find("model.roi_heads.bbox_reg_weights"), std::string::npos) << err(bad);
  bad = cfg;
  bad["roi_heads"]["fg_iou_thresh"] = 0.5;
  EXPECT_NE(err(bad).find("model.roi_heads.fg_iou_thresh"), std::string::npos) << err(bad);
}

TEST(CascadeRCNN, ImagesWithoutBoxesGiveFiniteLosses) {
  auto t = targets();
  t[1].boxes = Tensor::zeros({0, 4});
  t[1].labels = Tensor::zeros({0}, DType::i64);
  auto m = tiny_cascade(tiny_config(false), false);
  m->train();
  for (const auto& l : m->forward_train(images(), kSizes, t))
    EXPECT_TRUE(finite(l.second)) << l.first;
  auto f = std::make_shared<FasterRCNN>(test::tiny_backbone(), test::tiny_neck(),
                                        test::tiny_rpn(false), test::tiny_roi(false), 5);
  f->train();
  for (const auto& l : f->forward_train(images(), kSizes, t))
    EXPECT_TRUE(finite(l.second)) << l.first;
}

TEST(CascadeRCNN, ClassSpecificRegression) {
  CascadeConfig c = tiny_config(false);
  c.class_agnostic = false;
  auto m = tiny_cascade(c, false);
  EXPECT_EQ(m->state_dict().at("roi_heads.box_predictor.2.bbox_pred.weight").shape(),
            (Shape{24, 32}));
  m->train();
  for (const auto& l : m->forward_train(images(), kSizes, targets()))
    EXPECT_TRUE(finite(l.second)) << l.first;
  m->eval();
  auto dets = m->forward_eval(images(), kSizes);
  ASSERT_EQ(dets.size(), 2u);
  EXPECT_EQ(dets[0].boxes.dim(), 2);
}

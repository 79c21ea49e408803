// CenterNet: targets and decoder against the official semantics written out in
// scripts/fixtures/gen_centernet_fixtures.py, the fused loss on a large map against float64, the
// JSON builder's errors, and a tiny overfit run.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "autograd/centernet_focal_loss.h"
#include "autograd/elementwise.h"
#include "autograd/grad_mode.h"
#include "detection/centernet.h"
#include "nn/optim/adamw.h"
#include "tensor/random.h"
#include "tensor/safetensors.h"
#include "tensor/view_ops.h"
#include "tests/test_util.h"

namespace detforge::detection {
namespace {

SafetensorsFile fixture(const std::string& name) {
  return load_safetensors(std::string(DETFORGE_FIXTURE_DIR) + "/detection/" + name +
                          ".safetensors");
}

TEST(CenterNetTargets, GaussianRadiusMatchesOfficial) {
  auto f = fixture("centernet_targets");
  auto sizes = f.tensors.at("radius_sizes").to_vector<double>();
  auto want = f.tensors.at("radii").to_vector<double>();
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_NEAR(gaussian_radius(sizes[2 * i], sizes[2 * i + 1]), want[i], 1e-12 * (1 + want[i]))
        << "size " << sizes[2 * i] << "x" << sizes[2 * i + 1];
}

TEST(CenterNetTargets, MatchesOfficial) {
  auto f = fixture("centernet_targets");
  auto& t = f.tensors;
  auto cfg = nlohmann::json::parse(f.metadata.at("config"));
  std::vector<data::DetTarget> targets(2);
  for (int b = 0; b < 2; ++b) {
    targets[b].boxes = t.at("boxes_" + std::to_string(b));
    targets[b].labels = t.at("labels_" + std::to_string(b));
  }
  CenterNetTargetOptions o;
  o.num_classes = cfg["num_classes"];
  o.stride = cfg["stride"];
  o.max_objs = cfg["max_objs"];
  CenterNetTargets got = build_centernet_targets(targets, cfg["out_h"], cfg["out_w"], o);
  DF_EXPECT_CLOSE(got.heatmap, t.at("heatmap"), 1e-6);
  EXPECT_EQ(got.wh.to_vector<float>(), t.at("wh").to_vector<float>());
  EXPECT_EQ(got.offset.to_vector<float>(), t.at("offset").to_vector<float>());
  EXPECT_EQ(got.index.to_vector<int64_t>(), t.at("index").to_vector<int64_t>());
  EXPECT_EQ(got.mask.to_vector<float>(), t.at("mask").to_vector<float>());
  // Peaks are exactly 1 at every filled slot's centre.
  auto hm = got.heatmap.to_vector<float>();
  auto mask = got.mask.to_vector<float>();
  EXPECT_GT(std::count(hm.begin(), hm.end(), 1.0f), 0);
  EXPECT_EQ(mask[5], 0.0f);  // the box outside the map
}

TEST(CenterNetTargets, RejectsBadLabels) {
  std::vector<data::DetTarget> targets(1);
  targets[0].boxes = Tensor::from_vector<float>({0, 0, 8, 8}, {1, 4});
  targets[0].labels = Tensor::from_vector<int64_t>({3}, {1});
  CenterNetTargetOptions o;
  o.num_classes = 2;
  EXPECT_THROW(build_centernet_targets(targets, 4, 4, o), ConfigError);
}

void check_decode(const std::string& name) {
  auto f = fixture("centernet_decode_" + name);
  auto& t = f.tensors;
  auto cfg = nlohmann::json::parse(f.metadata.at("config"));
  auto sz = t.at("sizes").to_vector<int64_t>();
  ImageSizes sizes{{sz[0], sz[1]}, {sz[2], sz[3]}};
  auto dets = centernet_decode(t.at("heatmap"), t.at("wh"), t.at("offset"), sizes, cfg["K"],
                               cfg["score_thresh"], cfg["stride"]);
  ASSERT_EQ(dets.size(), 2u);
  for (int b = 0; b < 2; ++b) {
    SCOPED_TRACE(name + " image " + std::to_string(b));
    const std::string s = std::to_string(b);
    EXPECT_EQ(dets[b].labels.to_vector<int64_t>(), t.at("labels_" + s).to_vector<int64_t>());
    DF_EXPECT_CLOSE(dets[b].scores, t.at("scores_" + s), 1e-6);
    DF_EXPECT_CLOSE(dets[b].boxes, t.at("boxes_" + s), 1e-6);
  }
}

TEST(CenterNetDecode, TopKWithTies) {
  check_decode("k10");
}
TEST(CenterNetDecode, KLargerThanCandidates) {
  check_decode("kall");
}
TEST(CenterNetDecode, ScoreThreshold) {
  check_decode("thresh");
}

// The vectorised float path (polynomial log, several chunks) against the float64 kernel.
TEST(CenterNetFocalLoss, LargeMapMatchesFloat64) {
  Generator g(5);
  Tensor x = mul(randn({2, 20, 48, 48}, g), 3.0);
  Tensor y = mul(rand({2, 20, 48, 48}, g), 0.999);
  auto yv = y.to_vector<float>();
  for (size_t i = 0; i < yv.size(); i += 97) yv[i] = 1.0f;
  y = Tensor::from_vector(yv, y.shape());
  x.set_requires_grad(true);
  Tensor l = centernet_heatmap_focal_loss(x, y);
  l.backward();
  Tensor xd = raw::to(raw::detach(x), kCPU, DType::f64);
  xd.set_requires_grad(true);
  Tensor ld = centernet_heatmap_focal_loss(xd, raw::to(y, kCPU, DType::f64));
  ld.backward();
  EXPECT_NEAR(l.item(), ld.item(), 1e-5 * std::abs(ld.item()));
  DF_EXPECT_CLOSE(x.grad(), raw::to(xd.grad(), kCPU, DType::f32), 1e-5);
}

// NaN propagates as in the reference formulation: NaN logits, and NaN targets (whose
// (1 - y)^4 * mask term is NaN * 0).
TEST(CenterNetFocalLoss, NaNPropagates) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  Tensor x = Tensor::from_vector<float>({0.5f, -1.f, 2.f, 0.f}, {1, 1, 2, 2});
  Tensor y = Tensor::from_vector<float>({1.f, 0.2f, 0.f, 0.f}, {1, 1, 2, 2});
  EXPECT_TRUE(std::isfinite(centernet_heatmap_focal_loss(x, y).item()));
  Tensor xn = Tensor::from_vector<float>({0.5f, nan, 2.f, 0.f}, {1, 1, 2, 2});
  EXPECT_TRUE(std::isnan(centernet_heatmap_focal_loss(xn, y).item()));
  Tensor yn = Tensor::from_vector<float>({1.f, 0.2f, nan, 0.f}, {1, 1, 2, 2});
  EXPECT_TRUE(std::isnan(centernet_heatmap_focal_loss(x, yn).item()));
  Tensor y2 = Tensor::from_vector<float>({1.f, 0.2f, 1.5f, 0.f}, {1, 1, 2, 2});
  EXPECT_TRUE(std::isfinite(centernet_heatmap_focal_loss(x, y2).item()));
}

TEST(CenterNetFocalLoss, Errors) {
  Tensor x = Tensor::zeros({1, 2, 3, 3});
  EXPECT_THROW(centernet_heatmap_focal_loss(x, Tensor::zeros({1, 2, 3, 4})), ShapeError);
  EXPECT_THROW(centernet_heatmap_focal_loss(x, Tensor::zeros({1, 2, 3, 3}, DType::i64)),
               DTypeError);
}

nlohmann::json small_config() {
  return {{"type", "centernet"},
          {"backbone", {{"type", "resnet18"}}},
          {"head", {{"deconv_channels", {64, 64, 64}}, {"head_conv", 32}}},
          {"num_classes", 2},
          {"postprocess", {{"K", 10}}}};
}

TEST(CenterNet, BuildsFromJsonWithKeyPathErrors) {
  auto det = build_detector(small_config());
  EXPECT_EQ(det->num_classes(), 2);
  EXPECT_EQ(det->type_name(), "CenterNet");
  auto expect_error = [](nlohmann::json j, const std::string& part) {
    try {
      build_detector(j);
      ADD_FAILURE() << "no error for " << j.dump();
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
  };
  auto j = small_config();
  j["postprocess"]["K"] = 0;
  expect_error(j, "model.postprocess.K");
  j = small_config();
  j["loss_weights"] = {{"hm", 1}, {"size", 2}};
  expect_error(j, "model.loss_weights");
  j = small_config();
  j["head"]["deconv_channels"] = {64, 64};
  expect_error(j, "head.deconv_channels");
  j = small_config();
  j["neck"] = {{"type", "fpn"}, {"out_channels", 32}};
  j["head"] = {{"head_conv", 16}};
  j["postprocess"]["nms"] = true;
  auto fpn = build_detector(j);  // P2 input, no up-convolution
  EXPECT_EQ(std::dynamic_pointer_cast<CenterNet>(fpn)->output_stride(), 4);
  // Eval with per-class NMS: at most K boxes, inside the image, labels in 1..C, scores sorted.
  fpn->eval();
  Generator g(1);
  auto dets = fpn->forward_eval(randn({1, 3, 64, 64}, g), {{60, 50}});
  ASSERT_EQ(dets.size(), 1u);
  auto sc = dets[0].scores.to_vector<float>();
  auto bx = dets[0].boxes.to_vector<float>();
  auto lb = dets[0].labels.to_vector<int64_t>();
  EXPECT_GT(sc.size(), 0u);
  EXPECT_LE(sc.size(), 10u);
  EXPECT_TRUE(std::is_sorted(sc.rbegin(), sc.rend()));
  for (size_t i = 0; i < lb.size(); ++i) {
    EXPECT_TRUE(lb[i] == 1 || lb[i] == 2);
    EXPECT_GE(bx[4 * i], 0.f);
    EXPECT_LE(bx[4 * i + 2], 50.f);
    EXPECT_LE(bx[4 * i + 3], 60.f);
  }
  j["bogus"] = 1;
  expect_error(j, "bogus");
}

// Dozens of AdamW steps on one synthetic batch: the loss falls a lot and the decoded boxes (train
// mode outputs) land on the ground truth.
TEST(CenterNet, OverfitsOneBatch) {
  manual_seed(7);
  auto det = std::dynamic_pointer_cast<CenterNet>(build_detector(small_config()));
  Generator g(3);
  Tensor images = randn({2, 3, 64, 64}, g);
  std::vector<data::DetTarget> targets(2);
  targets[0].boxes = Tensor::from_vector<float>({8, 8, 40, 36, 30, 20, 60, 60}, {2, 4});
  targets[0].labels = Tensor::from_vector<int64_t>({1, 2}, {2});
  targets[1].boxes = Tensor::from_vector<float>({10, 30, 50, 62}, {1, 4});
  targets[1].labels = Tensor::from_vector<int64_t>({2}, {1});
  ImageSizes sizes{{64, 64}, {64, 64}};
  nn::ParamGroup pg;
  pg.params = det->parameters();
  pg.lr = 2e-3;
  nn::AdamW opt({pg});
  det->train();
  double first = 0, last = 0;
  for (int step = 0; step < 40; ++step) {
    det->zero_grad();
    Tensor loss = total_loss(det->forward_train(images, sizes, targets));
    loss.backward();
    opt.step();
    if (step == 0) first = loss.item();
    last = loss.item();
  }
  EXPECT_LT(last, 0.25 * first) << "first " << first << " last " << last;
  CenterNetOutput out;
  {
    NoGradGuard ng;
    out = det->predict(images);
  }
  auto dets = centernet_decode(out.heatmap, out.wh, out.offset, sizes, 10, 0.0, 4);
  for (int b = 0; b < 2; ++b) {
    auto gt = targets[b].boxes.to_vector<float>();
    auto gl = targets[b].labels.to_vector<int64_t>();
    auto bx = dets[b].boxes.to_vector<float>();
    auto lb = dets[b].labels.to_vector<int64_t>();
    for (size_t k = 0; k < gl.size(); ++k) {
      double best = 0;
      for (size_t i = 0; i < lb.size() && i < 3 * gl.size(); ++i) {
        if (lb[i] != gl[k]) continue;
        double ix =
            std::max(0.f, std::min(bx[4 * i + 2], gt[4 * k + 2]) - std::max(bx[4 * i], gt[4 * k]));
        double iy = std::max(
            0.f, std::min(bx[4 * i + 3], gt[4 * k + 3]) - std::max(bx[4 * i + 1], gt[4 * k + 1]));
        double a = (bx[4 * i + 2] - bx[4 * i]) * (bx[4 * i + 3] - bx[4 * i + 1]);
        double bA = (gt[4 * k + 2] - gt[4 * k]) * (gt[4 * k + 3] - gt[4 * k + 1]);
        best = std::max(best, ix * iy / (a + bA - ix * iy));
      }
      EXPECT_GT(best, 0.5) << "image " << b << " gt " << k;
    }
  }
  // No boxes at all: the heatmap loss is the negatives' term, the regression losses are 0.
  {
    std::vector<data::DetTarget> none(2);
    for (auto& t : none) {
      t.boxes = Tensor::zeros({0, 4});
      t.labels = Tensor::zeros({0}, DType::i64);
    }
    auto losses = det->forward_train(images, sizes, none);
    ASSERT_EQ(losses.size(), 3u);
    EXPECT_EQ(losses[0].first, "hm_loss");
    EXPECT_TRUE(std::isfinite(losses[0].second.item()));
    EXPECT_GT(losses[0].second.item(), 0.0);
    EXPECT_EQ(losses[1].second.item(), 0.0);
    EXPECT_EQ(losses[2].second.item(), 0.0);
  }
  // Eval mode runs end to end and yields one entry per image.
  det->eval();
  auto ev = det->forward_eval(images, sizes);
  ASSERT_EQ(ev.size(), 2u);
  EXPECT_LE(ev[0].scores.numel(), 10);
}

}  // namespace
}  // namespace detforge::detection

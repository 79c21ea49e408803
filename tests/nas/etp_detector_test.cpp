// The Elastic Teacher Pool (nas/etp_detector.h, nas/etp_train.h) at tiny scale: forward at
// several architectures, extraction equals the supernet with the arch active, IPS phases sample
// what they should, one IPS step trains and distills, config errors name key paths.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/grad_mode.h"
#include "detection/backbone.h"
#include "detection/detector.h"
#include "detection/static_resnet_backbone.h"
#include "nas/etp_detector.h"
#include "nas/etp_train.h"
#include "tensor/error.h"
#include "tensor/random.h"

using namespace detforge;
using nlohmann::json;

namespace {

json tiny_model() {
  return json::parse(R"({
    "type": "etp_faster_rcnn", "num_classes": 2,
    "backbone": {"type": "elastic_resnet", "block": "basic", "stem_channels": 8,
                 "planes": [8, 8, 16, 16], "depths": [[1, 2], [1, 2], [1, 2], [1, 2]],
                 "width_mults": [1.0, 1.25, 1.5]},
    "neck": {"out_channels": 16, "width_multipliers": [1.0, 1.25, 1.5]},
    "rpn": {"anchor_sizes": [[8], [16], [32], [64], [128]], "pre_nms_top_n_train": 200,
            "post_nms_top_n_train": 100, "pre_nms_top_n_test": 200, "post_nms_top_n_test": 100,
            "batch_size_per_image": 64},
    "roi_heads": {"representation_size": 32, "batch_size_per_image": 64},
    "postprocess": {"score_thresh": 0.0}
  })");
}

std::shared_ptr<nas::EtpFasterRCNN> build(const json& m = tiny_model()) {
  auto d = std::dynamic_pointer_cast<nas::EtpFasterRCNN>(detection::build_detector(m, "model"));
  EXPECT_NE(d, nullptr);
  return d;
}

data::DetBatch batch(int64_t h = 64, int64_t w = 64) {
  data::DetBatch b;
  b.images = randn({2, 3, h, w});
  for (int i = 0; i < 2; ++i) {
    data::DetTarget t;
    t.boxes =
        Tensor::from_vector<float>({4.f + i, 6.f, 30.f, 34.f, 20.f, 10.f, 50.f, 40.f}, {2, 4});
    t.labels = Tensor::from_vector<int64_t>({1, 2}, {2});
    t.height = h;
    t.width = w;
    b.targets.push_back(t);
    b.image_sizes.push_back({h, w});
  }
  return b;
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  Tensor x = a.contiguous(), y = b.contiguous();
  double m = 0;
  for (int64_t i = 0; i < x.numel(); ++i)
    m = std::max(m, std::fabs(double(x.data<float>()[i]) - double(y.data<float>()[i])));
  return m;
}

void expect_config_error(const std::function<void()>& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "no error for " << needle;
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

}  // namespace

TEST(EtpDetector, ForwardAtSeveralArchs) {
  manual_seed(1);
  auto det = build();
  EXPECT_EQ(det->space().stages.size(), 5u);
  std::mt19937_64 rng(3);
  std::vector<nn::ArchConfig> archs{det->largest(), det->smallest(), det->space().sample(rng),
                                    det->space().sample(rng)};
  data::DetBatch b = batch();
  det->train();
  for (const auto& a : archs) {
    det->set_active(a);
    detection::LossMap l = det->forward_train(b.images, b.image_sizes, b.targets);
    ASSERT_EQ(l.size(), 4u);
    for (const auto& [n, t] : l) EXPECT_TRUE(std::isfinite(t.item())) << n;
    detection::FeatureList f = det->extract_features(b.images);
    EXPECT_EQ(f.front().second.size(1), det->fpn_width_channels(a.stages.back().width_mult));
  }
}

TEST(EtpDetector, ExtractEqualsSupernetWithArch) {
  manual_seed(2);
  auto det = build();
  data::DetBatch b = batch(64, 96);
  det->train();
  {  // move the BN running statistics away from their init
    NoGradGuard ng;
    det->forward_train(b.images, b.image_sizes, b.targets);
  }
  det->eval();
  std::mt19937_64 rng(5);
  std::vector<nn::ArchConfig> archs{det->largest(), det->smallest(), det->space().sample(rng),
                                    det->space().sample(rng)};
  for (const auto& a : archs) {
    det->set_active(a);
    auto feats = det->extract_features(b.images);
    auto dets = det->forward_eval(b.images, b.image_sizes);
    auto stat = det->extract(a);
    EXPECT_EQ(det->active(), a);  // extract leaves the active arch alone
    EXPECT_FALSE(stat->is_training());
    EXPECT_LT(stat->num_parameters(), det->num_parameters() + 1);
    // The static JSON builds the same structure (what `detforge eval` gets).
    auto rebuilt = detection::build_detector(det->static_model_json(a), "model");
    EXPECT_NO_THROW(rebuilt->load_state_dict(stat->state_dict(), true));
    auto sf = stat->extract_features(b.images);
    ASSERT_EQ(sf.size(), feats.size());
    for (size_t l = 0; l < sf.size(); ++l)
      EXPECT_LT(max_abs_diff(sf[l].second, feats[l].second), 1e-5) << "level " << l;
    auto sd = stat->forward_eval(b.images, b.image_sizes);
    ASSERT_EQ(sd.size(), dets.size());
    for (size_t i = 0; i < sd.size(); ++i) {
      ASSERT_EQ(sd[i].boxes.shape(), dets[i].boxes.shape());
      ASSERT_GT(sd[i].boxes.size(0), 0);
      EXPECT_LT(max_abs_diff(sd[i].boxes, dets[i].boxes), 1e-3);
      EXPECT_LT(max_abs_diff(sd[i].scores, dets[i].scores), 1e-5);
    }
  }
  // The smallest subnet is smaller.
  EXPECT_LT(det->extract(det->smallest())->num_parameters(),
            det->extract(det->largest())->num_parameters());
}

TEST(EtpDetector, ArchJsonRoundTripAndErrors) {
  auto det = build();
  const nn::ArchConfig s = det->smallest();
  const json j = nas::etp_arch_to_json(s);
  EXPECT_DOUBLE_EQ(j.at("fpn_width").get<double>(), 1.0);
  EXPECT_EQ(nas::parse_etp_arch_arg(j.dump(), *det), s);
  EXPECT_EQ(nas::parse_etp_arch_arg("largest", *det), det->largest());
  nn::ArchConfig bad = det->largest();
  bad.stages[2].depth = 7;
  expect_config_error([&] { det->set_active(bad); }, "stages[2].depth");
  bad = det->largest();
  bad.stages[4].width_mult = 2.0;
  expect_config_error([&] { det->set_active(bad); }, "stages[4].width_mult");
  expect_config_error([&] { nas::parse_etp_arch_arg("{\"backbone\": {}}", *det); }, "fpn_width");
  expect_config_error([&] { nas::parse_etp_arch_arg("medium", *det); }, "--arch");
}

TEST(EtpDetector, ConfigErrorsNameKeyPaths) {
  auto expect_err = [](json m, const std::string& needle) {
    expect_config_error([&] { detection::build_detector(m, "model"); }, needle);
  };
  json m = tiny_model();
  m["backbone"]["depths"] = json::array({json::array({1})});
  expect_err(m, "model.backbone.depths");
  m = tiny_model();
  m["backbone"]["colour"] = 1;
  expect_err(m, "model.backbone.colour");
  m = tiny_model();
  m["backbone"]["width_mults"] = json::array({-1.0});
  expect_err(m, "model.backbone.width_mults");
  m = tiny_model();
  m["neck"]["type"] = "fpn";
  expect_err(m, "model.neck.type");
  m = tiny_model();
  m.erase("num_classes");
  expect_err(m, "model.num_classes");
  m = tiny_model();
  m["roi_heads"]["roi_size"] = 0;
  expect_err(m, "model.roi_heads.roi_size");

  expect_config_error(
      [] {
        nas::etp_options_from_json(json{{"kd", {{"temperature", "hot"}}}});
      },
      "etp.kd.temperature");
  expect_config_error(
      [] {
        nas::etp_options_from_json(json{{"shrinking", "ofa"}});
      },
      "etp.shrinking");
  expect_config_error(
      [] {
        nas::etp_options_from_json(json{{"sampler", {{"kind", "all"}}}});
      },
      "etp.sampler.kind");
  expect_config_error([] { nas::etp_options_from_json(json{{"phases", 2}}); }, "etp.phases");
}

TEST(EtpIps, PhasesSampleWhatTheyShould) {
  auto det = build();
  nas::EtpTrainOptions o;
  o.phase_iters = {2, 2, 2};  // depths {2, 1}, widths {1.5, 1.25, 1.0}: 3 IPS phases
  o.sampler.num_random = 2;
  nas::EtpIpsStep step(*det, o);
  const int64_t total = 6;
  ASSERT_EQ(step.schedule(total).phases().size(), 3u);
  // Phase 0: the largest only.
  for (int64_t it : {0, 1}) {
    auto a = step.archs_at(it, total);
    ASSERT_EQ(a.size(), 1u);
    EXPECT_EQ(a[0], det->largest());
  }
  // Phase 1: depth and width shrunk jointly (first two choices of every list); the phase's
  // smallest is trained (sandwich).
  const nn::SearchSpace& p1 = step.schedule(total).phases()[1].space;
  for (int64_t it : {2, 3}) {
    auto a = step.archs_at(it, total);
    ASSERT_GE(a.size(), 2u);
    EXPECT_EQ(a[0], det->largest());
    EXPECT_EQ(a[1], p1.smallest());
    for (const auto& x : a) {
      EXPECT_TRUE(p1.contains(x));
      for (size_t s = 0; s < 4; ++s) EXPECT_GE(x.stages[s].width_mult, 1.25);
      EXPECT_GE(x.stages[4].width_mult, 1.25);
    }
    bool depth_shrunk = false;
    for (size_t s = 0; s < 4; ++s) depth_shrunk |= a[1].stages[s].depth == 1;
    EXPECT_TRUE(depth_shrunk);
  }
  // Phase 2: the whole space; its smallest is the ETP's smallest.
  auto a4 = step.archs_at(4, total);
  EXPECT_EQ(a4[1], det->smallest());
  // Deterministic per iteration (resume draws what an uninterrupted run draws).
  EXPECT_EQ(step.archs_at(5, total), step.archs_at(5, total));
  nas::EtpIpsStep other(*det, o);
  EXPECT_EQ(other.archs_at(5, total), step.archs_at(5, total));
}

TEST(EtpIps, StepTrainsAndDistills) {
  manual_seed(4);
  auto det = build();
  det->train();
  nas::EtpTrainOptions o;
  o.phase_iters = {1, 1, 1};
  o.sampler.num_random = 1;
  int kd_calls = 0;
  nas::EtpDistiller base = nas::inplace_distiller(o.kd);
  nas::EtpIpsStep step(*det, o, [&](const nas::EtpKdInputs& s, const nas::EtpKdInputs& t) {
    ++kd_calls;
    EXPECT_TRUE(s.roi_logits.defined());
    EXPECT_EQ(s.roi_logits.shape(), t.roi_logits.shape());
    EXPECT_LE(s.features->front().second.size(1), t.features->front().second.size(1));
    return base(s, t);
  });
  data::DetBatch b = batch();
  det->zero_grad();
  detection::LossMap l0 = step(b, 0, 3);  // phase 0: the largest alone
  EXPECT_EQ(kd_calls, 0);
  EXPECT_EQ(l0.size(), 4u);
  det->zero_grad();
  detection::LossMap l2 = step(b, 2, 3);
  EXPECT_EQ(kd_calls, static_cast<int>(step.last_archs().size()) - 1);
  EXPECT_GE(step.last_archs().size(), 2u);
  std::vector<std::string> names;
  for (const auto& [n, t] : l2) {
    names.push_back(n);
    EXPECT_TRUE(std::isfinite(t.item())) << n;
  }
  EXPECT_EQ(names,
            (std::vector<std::string>{"loss_classifier", "loss_box_reg", "loss_objectness",
                                      "loss_rpn_box_reg", "sub_det", "kd_logit", "kd_feat"}));
  EXPECT_EQ(det->active(), det->largest());
  // Gradients reached the backbone, the FPN and both heads.
  int with_grad = 0, total = 0;
  for (const auto& [n, p] : det->named_parameters()) {
    ++total;
    with_grad += p.grad().defined() ? 1 : 0;
  }
  EXPECT_GT(with_grad, total / 2);
}

TEST(StaticResNetBackbone, JsonRoundTripAndKeyPathErrors) {
  auto det = build();
  json m = det->static_model_json(det->smallest());
  const json bj = m.at("backbone");
  auto b = detection::build_backbone(bj, "model.backbone");
  EXPECT_EQ(b->feature_channels().size(), 4u);
  EXPECT_EQ(b->feature_channels()[0], bj["stages"][0].back()["out"].get<int64_t>());
  auto expect_err = [](json j, const std::string& needle) {
    expect_config_error([&] { detection::build_backbone(j, "model.backbone"); }, needle);
  };
  json j = bj;
  j["stages"][1][0]["in"] = 3;
  expect_err(j, "model.backbone.stages[1][0].in");
  j = bj;
  j["stages"][2][0].erase("out");
  expect_err(j, "model.backbone.stages[2][0].out");
  j = bj;
  j["stages"].erase(3);
  expect_err(j, "model.backbone.stages");
  j = bj;
  j["stem"]["kind"] = "deep";
  expect_err(j, "model.backbone.stem.kind");
}

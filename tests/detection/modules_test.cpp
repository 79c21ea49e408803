// Detection necks and heads beyond the torchvision fixtures: double-precision gradchecks (tiny FPN,
// tiny CenterNet head, conv_transpose2d), gradients reaching every parameter, torchvision /
// CenterNet init values, output shapes, select_levels on a real backbone, and config errors that
// name the key path.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/conv_transpose.h"
#include "autograd/elementwise.h"
#include "autograd/engine.h"
#include "autograd/gradcheck.h"
#include "autograd/indexing.h"
#include "autograd/reduction.h"
#include "detection/module_config.h"
#include "nn/conv.h"
#include "nn/resnet.h"
#include "tests/test_util.h"

using namespace detforge;
using namespace detforge::detection;
using detforge::test::randn;
using nlohmann::json;

namespace {

// Every parameter and floating buffer converted to float64 (in place in the registry).
void to_double(nn::Module& m) {
  m.apply([](nn::Module& mod) {
    for (auto& [name, t] : mod.named_parameters(false)) mod.set_parameter(name, t.to(DType::f64));
    for (auto& [name, t] : mod.named_buffers(false))
      if (is_floating(t.dtype())) mod.set_buffer(name, t.to(DType::f64));
  });
}

Tensor flat_cat(const std::vector<Tensor>& ts) {
  std::vector<Tensor> flat;
  for (const Tensor& t : ts) flat.push_back(t.reshape({-1}));
  return cat(flat, 0);
}

Tensor input(const Shape& s, uint64_t seed, DType dt = DType::f64) {
  Tensor t = randn(s, dt, seed);
  t.set_requires_grad(true);
  return t;
}

double mean_abs(const Tensor& t) {
  double s = 0;
  for (float v : t.contiguous().to_vector<float>()) s += std::fabs(v);
  return s / t.numel();
}

template <class F>
void expect_config_error(F&& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "no ConfigError, expected one mentioning '" << needle << "'";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

}  // namespace

TEST(DetectionModules, FpnGradcheckDouble) {
  for (FpnExtra extra : {FpnExtra::max_pool, FpnExtra::p6p7}) {
    FpnOptions o;
    o.in_channels = {2, 3};
    o.out_channels = 2;
    o.extra = extra;
    o.p6p7_in_channels = 3;  // P6 from C5
    FeaturePyramidNetwork fpn(o);
    to_double(fpn);
    Tensor c4 = input({1, 2, 5, 4}, 1), c5 = input({1, 3, 3, 2}, 2);
    auto f = [&](const std::vector<Tensor>& in) {
      return flat_cat(feature_tensors(fpn.forward({{"c4", in[0]}, {"c5", in[1]}})));
    };
    GradcheckResult r = gradcheck(f, {c4, c5});
    EXPECT_TRUE(r.ok) << r.message;
  }
}

TEST(DetectionModules, FpnGradientsReachEveryParameter) {
  FpnOptions o;
  o.in_channels = {4, 8};
  o.out_channels = 4;
  o.extra = FpnExtra::p6p7;
  o.norm = make_norm_factory("gn", 2);
  FeaturePyramidNetwork fpn(o);
  FeatureList out = fpn.forward(
      {{"0", input({2, 4, 8, 8}, 3, DType::f32)}, {"1", input({2, 8, 4, 4}, 4, DType::f32)}});
  ASSERT_EQ(out.size(), 4u);
  EXPECT_EQ(out[2].second.shape(), (Shape{2, 4, 2, 2}));  // P6 from P5 (in == out)
  EXPECT_EQ(out[3].second.shape(), (Shape{2, 4, 1, 1}));
  sum(square(flat_cat(feature_tensors(out)))).backward();
  for (auto& [name, p] : fpn.named_parameters()) {
    ASSERT_TRUE(p.grad().defined()) << name;
    EXPECT_GT(mean_abs(p.grad()), 0.0) << name;
  }
  EXPECT_EQ(fpn.named_parameters().front().first, "inner_blocks.0.0.weight");
  EXPECT_FALSE(fpn.state_dict().count("inner_blocks.0.0.bias"));  // no bias with a norm
}

TEST(DetectionModules, FpnErrors) {
  FpnOptions o;
  o.in_channels = {4, 8};
  o.out_channels = 4;
  FeaturePyramidNetwork fpn(o);
  EXPECT_THROW(fpn.forward({{"0", randn({1, 4, 8, 8})}}), ShapeError);
  EXPECT_THROW(fpn.forward({{"0", randn({1, 4, 8, 8})}, {"1", randn({1, 6, 4, 4})}}), ShapeError);
  o.extra = FpnExtra::p6p7;
  o.p6p7_in_channels = 5;
  EXPECT_THROW(FeaturePyramidNetwork{o}, ConfigError);
  EXPECT_THROW(parse_fpn_extra("p6"), ConfigError);
}

TEST(DetectionModules, TorchvisionInitValues) {
  RPNHead rpn(8, 3);
  Tensor w = rpn.submodule("conv.0.0").param("weight");  // 576 values ~ N(0, 0.01)
  EXPECT_NEAR(std::sqrt(mean(square(w)).item()), 0.01, 0.002);
  EXPECT_EQ(mean_abs(rpn.submodule("cls_logits").param("bias")), 0.0);
  RetinaNetHead retina(8, 2, 3);
  Tensor b = retina.submodule("classification_head.cls_logits").param("bias");
  for (float v : b.to_vector<float>()) EXPECT_NEAR(v, -std::log(99.0), 1e-6);
  EXPECT_EQ(b.numel(), 6);
  EXPECT_EQ(mean_abs(retina.submodule("regression_head.bbox_reg").param("bias")), 0.0);
}

TEST(DetectionModules, ConvTranspose2dShapesAndGradcheck) {
  // stride 2, padding 1, output_padding 1, dilation 2, groups 2, bias.
  Tensor x = input({2, 4, 3, 2}, 5), w = input({4, 3, 3, 3}, 6), b = input({6}, 7);
  Tensor y = conv_transpose2d(x, w, b, {2}, {1}, {1}, 2, {2});
  // (3 - 1) * 2 - 2 + 2 * 2 + 1 + 1 = 8; (2 - 1) * 2 - 2 + 4 + 1 + 1 = 6
  EXPECT_EQ(y.shape(), (Shape{2, 6, 8, 6}));
  auto f = [](const std::vector<Tensor>& in) {
    return conv_transpose2d(in[0], in[1], in[2], {2, 1}, {1, 0}, {1, 0}, 2, {2, 1});
  };
  GradcheckResult r = gradcheck(f, {x, w, b});
  EXPECT_TRUE(r.ok) << r.message;
  EXPECT_THROW(conv_transpose2d(x, w, b, {2}, {1}, {2}, 2), ConfigError);  // output_padding
  EXPECT_THROW(conv_transpose2d(x, input({3, 3, 3, 3}, 8)), ShapeError);
}

TEST(DetectionModules, CenterNetShapesAndInit) {
  CenterNetHeadOptions o;
  o.in_channels = 16;
  o.num_classes = 5;
  o.deconv_channels = {8, 8, 4};
  o.head_conv = 6;
  CenterNetHead head(o);
  EXPECT_EQ(head.upsample_factor(), 8);
  CenterNetOutput out = head.predict(randn({2, 16, 3, 4}));
  EXPECT_EQ(out.heatmap.shape(), (Shape{2, 5, 24, 32}));
  EXPECT_EQ(out.wh.shape(), (Shape{2, 2, 24, 32}));
  EXPECT_EQ(out.offset.shape(), (Shape{2, 2, 24, 32}));
  auto sd = head.state_dict();
  EXPECT_EQ(sd.at("deconv_layers.0.weight").shape(), (Shape{16, 8, 4, 4}));
  EXPECT_EQ(sd.at("deconv_layers.7.running_var").shape(), (Shape{4}));
  EXPECT_FALSE(sd.count("deconv_layers.0.bias"));
  for (float v : sd.at("hm.2.bias").to_vector<float>()) EXPECT_FLOAT_EQ(v, -2.19f);
  EXPECT_EQ(mean_abs(sd.at("wh.2.bias")), 0.0);
  EXPECT_EQ(mean_abs(sd.at("reg.0.bias")), 0.0);
  EXPECT_NEAR(std::sqrt(mean(square(sd.at("deconv_layers.0.weight"))).item()), 0.001, 0.0002);
  for (float v : sd.at("deconv_layers.1.weight").to_vector<float>()) EXPECT_EQ(v, 1.0f);
  // At init the heatmap sits at sigmoid(-2.19) ~ 0.1 everywhere.
  EXPECT_NEAR(mean(out.heatmap).item(), -2.19, 1e-2);
  EXPECT_THROW(head.predict(randn({2, 8, 3, 4})), ShapeError);
}

TEST(DetectionModules, CenterNetGradcheckDouble) {
  CenterNetHeadOptions o;
  o.in_channels = 3;
  o.num_classes = 2;
  o.deconv_channels = {2};
  o.head_conv = 2;
  CenterNetHead head(o);
  // Non-trivial weights (the 0.001-std init makes every output nearly constant).
  head.apply([](nn::Module& m) {
    for (auto& [name, t] : m.named_parameters(false))
      m.set_parameter(name, randn(t.shape(), DType::f32, 11 + t.numel()));
  });
  to_double(head);
  head.eval();
  auto f = [&](const std::vector<Tensor>& in) {
    CenterNetOutput out = head.predict(in[0]);
    return flat_cat({out.heatmap, out.wh, out.offset});
  };
  GradcheckResult r = gradcheck(f, {input({1, 3, 3, 2}, 9)});
  EXPECT_TRUE(r.ok) << r.message;
}

TEST(DetectionModules, SelectLevelsOnResNet18) {
  auto backbone = nn::resnet18(10);
  backbone->eval();
  auto feats = backbone->forward_features(randn({1, 3, 64, 64}));
  NeckConfig cfg = parse_neck(json::parse(
      R"({"type": "fpn", "in_levels": [3, 4, 5], "out_channels": 8, "extra": "p6p7",
          "p6_from": "c5"})"));
  auto fpn = build_neck(cfg, backbone->feature_channels());
  ASSERT_TRUE(fpn);
  EXPECT_EQ(fpn->submodule("extra_blocks.p6").param("weight").shape(), (Shape{8, 512, 3, 3}));
  FeatureList out = fpn->forward(select_levels(feats, cfg.in_levels));
  ASSERT_EQ(out.size(), 5u);
  const char* names[] = {"0", "1", "2", "p6", "p7"};
  const int64_t sizes[] = {8, 4, 2, 1, 1};
  for (int i = 0; i < 5; ++i) {
    EXPECT_EQ(out[i].first, names[i]);
    EXPECT_EQ(out[i].second.shape(), (Shape{1, 8, sizes[i], sizes[i]}));
  }
  EXPECT_THROW(select_levels(feats, {3, 3}), ConfigError);
  EXPECT_THROW(select_levels(feats, {6}), ConfigError);
  EXPECT_EQ(build_neck(parse_neck(json("none")), backbone->feature_channels()), nullptr);
}

TEST(DetectionModules, ConfigBuildsHeads) {
  HeadConfig rpn = parse_head(json::parse(R"({"type": "rpn", "num_anchors": 3})"));
  EXPECT_EQ(build_rpn_head(rpn, 8)->state_dict().at("bbox_pred.weight").shape(),
            (Shape{12, 8, 1, 1}));
  HeadConfig ret = parse_head(json::parse(
      R"({"type": "retinanet", "num_anchors": 9, "num_classes": 4, "norm": "gn", "gn_groups": 4})"));
  auto r = build_retinanet_head(ret, 8);
  EXPECT_TRUE(r->state_dict().count("classification_head.conv.3.1.weight"));
  EXPECT_EQ(r->forward({randn({1, 8, 4, 4})}).cls_logits.shape(), (Shape{1, 144, 4}));
  HeadConfig cn = parse_head(json::parse(
      R"({"type": "centernet", "num_classes": 3, "deconv_channels": [], "head_conv": 4})"));
  EXPECT_EQ(build_centernet_head(cn, 8)->predict(randn({1, 8, 5, 5})).heatmap.shape(),
            (Shape{1, 3, 5, 5}));
  BoxHeadConfig box =
      parse_box_head(json::parse(R"({"representation_size": 16, "num_classes": 3})"));
  EXPECT_EQ(build_box_head(box, 4)->forward(randn({2, 4, 7, 7})).shape(), (Shape{2, 16}));
  EXPECT_EQ(build_box_predictor(box)->predict(randn({2, 16})).deltas.shape(), (Shape{2, 12}));
}

TEST(DetectionModules, ConfigErrorsNameTheKeyPath) {
  expect_config_error([] { parse_neck(json::parse(R"({"type": "fpn", "extra": "p6"})")); },
                      "neck.extra");
  expect_config_error([] { parse_neck(json::parse(R"({"type": "fpn", "in_levels": [4, 3]})")); },
                      "neck.in_levels");
  expect_config_error([] { parse_neck(json::parse(R"({"type": "fpn", "in_levels": [1, 3]})")); },
                      "neck.in_levels");
  expect_config_error([] { parse_neck(json::parse(R"({"type": "fpn", "out_channel": 8})")); },
                      "neck.out_channel");
  expect_config_error([] { parse_neck(json::parse(R"({"type": "bifpn"})"), "model.neck"); },
                      "model.neck.type");
  expect_config_error([] { parse_neck(json("fpn")); }, "neck");
  expect_config_error(
      [] { parse_neck(json::parse(R"({"type": "fpn", "norm": "gn", "gn_groups": 3})")); },
      "neck.gn_groups");
  expect_config_error([] { parse_neck(json::parse(R"({"type": "fpn", "p6_from": "c5"})")); },
                      "neck.p6_from");
  expect_config_error([] { parse_head(json::parse(R"({"num_anchors": 3})")); }, "head.type");
  expect_config_error([] { parse_head(json::parse(R"({"type": "rpn", "num_anchors": 0})")); },
                      "head.num_anchors");
  expect_config_error(
      [] { parse_head(json::parse(R"({"type": "retinanet", "prior_probability": 1.5})")); },
      "head.prior_probability");
  expect_config_error(
      [] { parse_head(json::parse(R"({"type": "centernet", "deconv_channels": [64, "x"]})")); },
      "head.deconv_channels");
  expect_config_error([] { parse_head(json::parse(R"({"type": "rpn", "num_classes": 3})")); },
                      "head.num_classes");
  expect_config_error([] { parse_box_head(json::parse(R"({"roi_size": -1})")); },
                      "box_head.roi_size");
  expect_config_error([] { parse_head(json::parse("[1]")); }, "head");
}

// ElasticFPN: static FPN names at the maximal width (a static state dict loads strictly), every
// width multiplier and norm gives outputs equal to its extract()ed static FPN (also with narrower
// inputs, as from an elastic backbone), inactive channels get no gradient, errors.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/elementwise.h"
#include "autograd/grad_mode.h"
#include "autograd/indexing.h"
#include "autograd/reduction.h"
#include "detection/elastic_fpn.h"
#include "detection/module_config.h"
#include "tensor/view_ops.h"
#include "tests/test_util.h"

using namespace detforge;
using namespace detforge::detection;
using detforge::test::randn;

namespace {
ElasticFpnOptions options(FpnExtra extra, const std::string& norm, bool c5 = false) {
  ElasticFpnOptions o;
  o.in_channels = {6, 12};
  o.out_channels = 8;  // widths 8, 10, 12
  o.extra = extra;
  o.p6_from_c5 = c5;
  o.norm = norm;
  o.gn_groups = 2;
  return o;
}
}  // namespace

TEST(ElasticFPN, StaticNamesAtMaxWidth) {
  ElasticFPN efpn(options(FpnExtra::p6p7, "bn", true));
  EXPECT_EQ(efpn.max_out_channels(), 12);
  FpnOptions so;
  so.in_channels = {6, 12};
  so.out_channels = 12;
  so.extra = FpnExtra::p6p7;
  so.p6p7_in_channels = 12;  // == out: torchvision would take P5; names and shapes are the same
  so.norm = make_norm_factory("bn");
  FeaturePyramidNetwork fpn(so);
  auto a = efpn.state_dict(), b = fpn.state_dict();
  ASSERT_EQ(a.size(), b.size());
  for (auto& [k, v] : b) {
    ASSERT_TRUE(a.count(k)) << k;
    EXPECT_EQ(a.at(k).shape(), v.shape()) << k;
  }
  nn::LoadResult r = efpn.load_state_dict(b, true);
  EXPECT_TRUE(r.missing.empty() && r.unexpected.empty());
}

TEST(ElasticFPN, EveryWidthEqualsExtractedStaticFpn) {
  struct V {
    FpnExtra extra;
    const char* norm;
    bool c5;
  };
  for (V v : {V{FpnExtra::max_pool, "none", false}, V{FpnExtra::p6p7, "bn", false},
              V{FpnExtra::p6p7, "gn", true}}) {
    ElasticFPN efpn(options(v.extra, v.norm, v.c5));
    // Non-trivial BN statistics: a few training forwards at full width.
    for (int s = 0; s < 3; ++s)
      efpn.forward({{"0", randn({2, 6, 8, 8}, DType::f32, 20 + s)},
                    {"1", randn({2, 12, 4, 4}, DType::f32, 30 + s)}});
    efpn.eval();
    for (double m : {1.0, 1.25, 1.5}) {
      SCOPED_TRACE(std::string(v.norm) + " width " + std::to_string(m));
      efpn.set_active_width(m);
      const int64_t w = efpn.active_out_channels();
      EXPECT_EQ(w, std::llround(8 * m));
      FeatureList in{{"0", randn({2, 4, 9, 7}, DType::f32, 1)},
                     {"1", randn({2, 10, 5, 4}, DType::f32, 2)}};
      NoGradGuard ng;
      FeatureList got = efpn.forward(in);
      auto fpn = efpn.extract({4, 10});
      FeatureList want = fpn->forward(in);
      ASSERT_EQ(got.size(), want.size());
      for (size_t i = 0; i < got.size(); ++i) {
        EXPECT_EQ(got[i].first, want[i].first);
        EXPECT_EQ(got[i].second.size(1), w);
        DF_EXPECT_CLOSE(got[i].second, want[i].second, 1e-5);
      }
    }
    efpn.train();
  }
}

TEST(ElasticFPN, InactiveChannelsGetNoGradient) {
  ElasticFPN efpn(options(FpnExtra::p6p7, "none"));
  efpn.set_active_width(1.0);
  FeatureList out = efpn.forward({{"0", randn({1, 6, 8, 8})}, {"1", randn({1, 12, 4, 4})}});
  std::vector<Tensor> flat;
  for (auto& [n, t] : out) flat.push_back(t.reshape({-1}));
  sum(square(cat(flat, 0))).backward();
  Tensor g = efpn.submodule("layer_blocks.0.0").param("weight").grad();
  ASSERT_TRUE(g.defined());
  EXPECT_GT(sum(abs(g.narrow(0, 0, 8))).item(), 0.0);
  EXPECT_EQ(sum(abs(g.narrow(0, 8, 4))).item(), 0.0);
  EXPECT_EQ(sum(abs(g.narrow(1, 8, 4))).item(), 0.0);
}

TEST(ElasticFPN, Errors) {
  ElasticFPN efpn(options(FpnExtra::none, "gn"));
  EXPECT_THROW(efpn.set_active_width(2.0), ConfigError);
  EXPECT_THROW(efpn.set_active_out_channels(9), ConfigError);  // not divisible by gn_groups 2
  EXPECT_THROW(efpn.set_active_out_channels(14), ConfigError);
  EXPECT_THROW(efpn.forward({{"0", randn({1, 7, 8, 8})}, {"1", randn({1, 12, 4, 4})}}), ShapeError);
  auto o = options(FpnExtra::none, "gn");
  o.gn_groups = 4;  // width 10 not divisible
  EXPECT_THROW(ElasticFPN{o}, ConfigError);
}

TEST(ElasticFPN, FromConfig) {
  auto cfg = parse_neck(nlohmann::json::parse(
      R"({"type": "elastic_fpn", "in_levels": [4, 5], "out_channels": 8, "extra": "maxpool",
          "norm": "gn", "gn_groups": 2, "width_multipliers": [1.0, 1.5]})"));
  auto efpn = build_elastic_neck(cfg, {64, 128, 256, 512});
  ASSERT_TRUE(efpn);
  EXPECT_EQ(build_neck(cfg, {64, 128, 256, 512}), nullptr);
  EXPECT_EQ(efpn->max_out_channels(), 12);
  EXPECT_EQ(efpn->submodule("inner_blocks.1.0").param("weight").shape(), (Shape{12, 512, 1, 1}));
  EXPECT_THROW(efpn->set_active_width(1.25), ConfigError);
  try {
    parse_neck(nlohmann::json::parse(
        R"({"type": "elastic_fpn", "norm": "gn", "gn_groups": 4, "out_channels": 8})"));
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("neck.gn_groups"), std::string::npos) << e.what();
  }
  try {
    parse_neck(nlohmann::json::parse(R"({"type": "fpn", "width_multipliers": [1.0]})"));
    ADD_FAILURE() << "no error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("neck.width_multipliers"), std::string::npos) << e.what();
  }
}

TEST(ElasticFPN, CloneIsDeepAndKeepsTheActiveWidth) {
  ElasticFPN efpn(options(FpnExtra::p6p7, "gn", true));
  efpn.set_active_width(1.25);
  auto copy = efpn.clone_as<ElasticFPN>();
  ASSERT_TRUE(copy);
  EXPECT_EQ(copy->active_out_channels(), 10);
  FeatureList in{{"0", randn({1, 6, 8, 8})}, {"1", randn({1, 12, 4, 4})}};
  NoGradGuard ng;
  FeatureList a = efpn.forward(in), b = copy->forward(in);
  for (size_t i = 0; i < a.size(); ++i) DF_EXPECT_CLOSE(b[i].second, a[i].second, 0.0);
  raw::fill(copy->submodule("extra_blocks.p6").param("weight"), 0.0);
  EXPECT_GT(sum(abs(efpn.submodule("extra_blocks.p6").param("weight"))).item(), 0.0);
}

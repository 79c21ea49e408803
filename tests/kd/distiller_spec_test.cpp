// The DetKDS distiller spec: parsing, validation messages, enumeration, sampling, the CLI.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <set>

#include "kd/distiller_spec.h"
#include "tensor/error.h"
#include "tests/test_util.h"

namespace detforge::kd {
namespace {

using nlohmann::json;
using test::error_of;

std::string parse_error(const std::string& text) {
  return error_of([&] { parse_distillers(json::parse(text)); });
}

TEST(KdSpec, ParsesCanonicalAndAliasSpellings) {
  const auto s = parse_distiller(
      json::parse(R"({"input": "global", "transforms": ["CATT_0.3", "scale_2", "normN"],
                      "distance": "l1", "weight": 1})"),
      "d");
  EXPECT_EQ(s.input, Input::global);
  ASSERT_EQ(s.transforms.size(), 3u);
  EXPECT_EQ(s.transforms[0].name, "catt");
  EXPECT_DOUBLE_EQ(s.transforms[0].param, 0.3);
  EXPECT_EQ(s.transforms[1].name, "scale_2");
  EXPECT_EQ(s.transforms[2].name, "norm_N");
  EXPECT_EQ(s.distance, "L1");
  const auto o = parse_distiller(
      json::parse(R"({"input": "ins", "transforms": [{"name": "mask", "ratio": 0.65}, "minmax"],
                      "distance": "smooth_l1", "weight": 0.5})"),
      "d");
  EXPECT_EQ(o.input, Input::instance);
  EXPECT_EQ(o.transforms[0], (Transform{"mask", 0.65}));
  EXPECT_EQ(o.transforms[1].name, "min-max");
  EXPECT_EQ(o.distance, "smooth-L1");
  // to_json round trip (parameters as objects only when not the default).
  EXPECT_EQ(parse_distiller(to_json(o), "d"), o);
  EXPECT_EQ(to_json(s)["transforms"][0]["tau"], 0.3);
  EXPECT_EQ(to_string(s), "global: catt(0.3) -> scale_2 -> norm_N | L1 | x1");
  // Weight defaults to 1; a feature chain may be empty.
  const auto e = parse_distiller(json::parse(R"({"input": "fgbg", "distance": "SSIM"})"), "d");
  EXPECT_TRUE(e.transforms.empty());
  EXPECT_EQ(e.weight, 1);
  // The paper's Table 5 distillers that use the Table 2 vocabulary.
  for (const char* t :
       {R"({"input": "global", "transforms": ["catt", "scale_2", "norm_N"], "distance": "L1"})",
        R"({"input": "fgbg", "transforms": ["local_4", "norm_HW"], "distance": "L1"})",
        R"({"input": "instance", "transforms": ["satt", "scale_4", "norm_N"], "distance": "L1"})",
        R"({"input": "logits", "transforms": ["norm_N"], "distance": "Pearson"})",
        R"({"input": "loc", "transforms": ["sigmoid"], "distance": "C-IoU"})"})
    EXPECT_NO_THROW(parse_distiller(json::parse(t), "d")) << t;
}

TEST(KdSpec, ErrorsNameKeyPathRuleAndChoices) {
  EXPECT_EQ(parse_error(R"([{"input": "global", "distance": "L1"},
                            {"input": "fgbg", "distance": "L1"},
                            {"input": "logits", "transforms": ["foo"], "distance": "L1"}])"),
            "[kd] distillers[2].transforms[0]: unknown transform 'foo' for input 'logits' "
            "(allowed: norm_N, norm_C, min-max, reshape_N, reshape_C) [R1, Table 2]");
  EXPECT_EQ(parse_error(R"({"distillers": [{"input": "loc", "transforms": ["norm_N"],
                                            "distance": "IoU"}]})"),
            "[kd] distillers[0].transforms[0]: unknown transform 'norm_N' for input 'loc' "
            "(allowed: softmax_N, softmax_C, pow2, sigmoid) [R1, Table 2]");
  EXPECT_NE(parse_error(R"({"input": "global", "distance": "Cor"})")
                .find("distiller.distance: unknown distance 'Cor' for input 'global' (allowed: "
                      "smooth-L1, L1, L2, KL, cosine, Pearson, SSIM) [R2"),
            std::string::npos);
  EXPECT_NE(parse_error(R"({"input": "loc", "transforms": ["sigmoid"], "distance": "L1"})")
                .find("unknown distance 'L1' for input 'loc'"),
            std::string::npos);
  EXPECT_EQ(parse_error(R"({"input": "global", "transforms": ["scale_2", "catt"],
                            "distance": "L1"})"),
            "[kd] distiller.transforms[1]: 'catt' (attention) after 'scale_2' (scale): feature "
            "chains run attention -> scale -> normalize (DetKDS Sec. 3.1) [R3]");
  EXPECT_NE(parse_error(R"({"input": "global", "transforms": ["scale_2", "local_4"],
                            "distance": "L1"})")
                .find("transforms[1]: 'local_4' is a second scale transform after 'scale_2'"),
            std::string::npos);
  EXPECT_NE(parse_error(R"({"input": "global", "transforms": ["catt", "scale_2", "norm_N",
                            "min-max"], "distance": "L1"})")
                .find("at most 3 transforms"),
            std::string::npos);
  EXPECT_NE(parse_error(R"({"input": "logits", "transforms": [], "distance": "L1"})")
                .find("'logits' takes exactly one transform"),
            std::string::npos);
  EXPECT_NE(parse_error(R"({"input": "loc", "transforms": ["pow2", "sigmoid"], "distance": "IoU"})")
                .find("[R4], got 2"),
            std::string::npos);
  EXPECT_EQ(parse_error(R"({"input": "global", "distance": "L1", "weight": 3})"),
            "[kd] distiller.weight: weight 3 is not in {0.1, 0.5, 1, 2, 5, 8, 10} [R5, Table 2]");
  EXPECT_NE(parse_error(R"([{"input": "global", "distance": "L1"},
                            {"input": "global", "distance": "L2"}])")
                .find("distillers[1].input: input 'global' already has a distiller at "
                      "distillers[0]"),
            std::string::npos);
  EXPECT_NE(parse_error(R"({"input": "neck", "distance": "L1"})")
                .find("distiller.input: unknown input 'neck'"),
            std::string::npos);
  EXPECT_NE(parse_error(R"({"input": "global", "distance": "L1", "wieght": 1})")
                .find("distiller.wieght: unknown key"),
            std::string::npos);
  EXPECT_NE(parse_error(R"({"input": "global", "transforms": ["catt_0"], "distance": "L1"})")
                .find("tau must be > 0"),
            std::string::npos);
  EXPECT_NE(parse_error(R"({"input": "global", "transforms": [{"name": "mask", "ratio": 1.5}],
                            "distance": "L1"})")
                .find("transforms[0]: mask ratio must be in [0, 1)"),
            std::string::npos);
  EXPECT_NE(parse_error(R"({"input": "global", "transforms": [{"name": "scale_2", "tau": 1}],
                            "distance": "L1"})")
                .find("transforms[0].tau: unknown key for transform 'scale_2' (allowed: name)"),
            std::string::npos);
  // validate() on a spec built in code.
  DistillerSpec bad{Input::logits, {{"sigmoid", 0}}, "L1", 1};
  EXPECT_NE(error_of([&] {
              validate(bad, "cfg.kd[1]");
            }).find("cfg.kd[1].transforms[0]: unknown transform 'sigmoid' for input 'logits'"),
            std::string::npos);
}

TEST(KdSpace, CountFollowsTheRules) {
  // Features: (1+3 attention) * (1+6 scale) * (1+4 normalize) = 140 chains, 7 distances, 7
  // weights; logits 5 single transforms x 7 x 7; loc 4 x 5 x 7.
  for (Input in : {Input::global, Input::fgbg, Input::instance}) {
    EXPECT_EQ(valid_chains(in).size(), 140u);
    EXPECT_EQ(space_size(in), 140 * 7 * 7);
  }
  EXPECT_EQ(space_size(Input::logits), 5 * 7 * 7);
  EXPECT_EQ(space_size(Input::loc), 4 * 5 * 7);
  EXPECT_EQ(space_size(), 3 * 6860 + 245 + 140);
  // Every enumerated spec is distinct and valid.
  std::set<std::string> seen;
  for (int64_t i = 0; i < space_size(); ++i) {
    const auto s = spec_at(i);
    validate(s, "spec_at(" + std::to_string(i) + ")");
    seen.insert(to_json(s).dump());
  }
  EXPECT_EQ(static_cast<int64_t>(seen.size()), space_size());
  EXPECT_NE(error_of([] { spec_at(space_size()); }), "");
}

TEST(KdSpace, SamplingIsDeterministicUniformAndValid) {
  const auto a = sample_specs(200, 7), b = sample_specs(200, 7), c = sample_specs(200, 8);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  for (const auto& s : a) EXPECT_EQ(parse_distiller(to_json(s), "s"), s);
  // Uniform over the space: the share of feature specs is 20580 / 20965.
  const auto many = sample_specs(20000, 1);
  int feat = 0;
  for (const auto& s : many) feat += is_feature(s.input);
  EXPECT_NEAR(feat / 20000.0, 20580.0 / 20965.0, 0.01);
  for (const auto& s : sample_specs(Input::loc, 50, 3)) EXPECT_EQ(s.input, Input::loc);
}

TEST(KdSpaceCli, CountSampleValidate) {
  auto r = test::run_cli("kd space --count");
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("total    20965"), std::string::npos) << r.out;
  r = test::run_cli("kd space --sample 3 --seed 5");
  ASSERT_EQ(r.rc, 0) << r.out;
  EXPECT_EQ(r.out, test::run_cli("kd space --sample 3 --seed 5").out);
  std::string expect;
  for (const auto& s : sample_specs(3, 5)) expect += to_json(s).dump() + "\n";
  EXPECT_EQ(r.out, expect);
  const std::string good = ::testing::TempDir() + "kd_good.json";
  const std::string bad = ::testing::TempDir() + "kd_bad.json";
  std::ofstream(good) << R"({"distillers": [
      {"input": "global", "transforms": ["catt", "scale_2", "norm_N"], "distance": "L1"},
      {"input": "loc", "transforms": ["sigmoid"], "distance": "C-IoU", "weight": 2}]})";
  std::ofstream(bad) << R"([{"input": "logits", "transforms": ["foo"], "distance": "L1"}])";
  r = test::run_cli("kd space --validate " + good);
  EXPECT_EQ(r.rc, 0) << r.out;
  EXPECT_NE(r.out.find("2 valid distiller(s)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("loc: sigmoid | C-IoU | x2"), std::string::npos) << r.out;
  r = test::run_cli("kd space --validate " + bad);
  EXPECT_EQ(r.rc, 1);
  EXPECT_NE(r.out.find("distillers[0].transforms[0]: unknown transform 'foo'"), std::string::npos)
      << r.out;
  std::remove(good.c_str());
  std::remove(bad.c_str());
}

}  // namespace
}  // namespace detforge::kd

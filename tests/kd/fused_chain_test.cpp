// The fused DetKDS chains (kd_att_norm_dist, kd_ssim) against the composed autograd-op reference
// (kd/transforms + kd/distances): every fused (attention, scale identity, norm, distance) chain,
// value and student gradient, on several shapes including size-1 dims and constant maps; and
// the dispatch rules of distiller_loss (fused only when the teacher needs no gradient).
#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "autograd/elementwise.h"
#include "autograd/kd_losses.h"
#include "kd/distances.h"
#include "tensor/error.h"
#include "tests/test_util.h"

namespace detforge::kd {
namespace {

double max_rel_diff(const Tensor& a, const Tensor& b) {
  auto x = a.to(DType::f64).contiguous().to_vector<double>();
  auto y = b.to(DType::f64).contiguous().to_vector<double>();
  EXPECT_EQ(x.size(), y.size());
  double scale = 1e-30, err = 0;
  for (size_t i = 0; i < x.size(); ++i) scale = std::max(scale, std::abs(y[i]));
  for (size_t i = 0; i < x.size(); ++i) err = std::max(err, std::abs(x[i] - y[i]));
  return err / scale;
}

// Loss value and student gradient of `loss(s)`.
std::pair<Tensor, Tensor> value_grad(const std::function<Tensor(const Tensor&)>& loss,
                                     const Tensor& s0) {
  Tensor s = s0.detach().clone().set_requires_grad(true);
  Tensor l = loss(s);
  l.backward();
  return {l.detach(), s.grad()};
}

void expect_fused_equals_composed(const DistillerSpec& spec, const Tensor& s, const Tensor& t,
                                  double tol) {
  const std::string what = to_string(spec) + " " + shape_str(s.shape());
  ASSERT_TRUE(fused_chain_applies(spec, s, t)) << what;
  auto f = value_grad([&](const Tensor& x) { return distiller_loss(spec, x, t); }, s);
  auto c = value_grad([&](const Tensor& x) { return distiller_loss_composed(spec, x, t); }, s);
  EXPECT_LT(max_rel_diff(f.first, c.first), tol)
      << what << " " << f.first.item() << " vs " << c.first.item();
  EXPECT_LT(max_rel_diff(f.second, c.second), tol) << what;
}

TEST(KdFusedChain, EveryFusedChainEqualsComposed) {
  const std::vector<std::string> atts = {"", "satt", "catt"}, scales = {"", "scale_1", "local_1"},
                                 norms = {"", "norm_HW", "norm_C"},
                                 dists = {"L1", "L2", "smooth-L1", "KL", "cosine"};
  const std::vector<Shape> shapes = {{2, 3, 4, 5}, {1, 1, 3, 3}, {3, 4, 1, 1}, {2, 5, 1, 6}};
  int checked = 0, k = 0;
  for (const auto& a : atts)
    for (const auto& sc : scales)
      for (const auto& nm : norms)
        for (const auto& d : dists) {
          DistillerSpec spec{Input::global, {}, d, 2};
          if (!a.empty()) spec.transforms.push_back({a, a == "satt" ? 0.8 : 0.3});
          if (!sc.empty()) spec.transforms.push_back({sc, 0});
          if (!nm.empty()) spec.transforms.push_back({nm, 0});
          const Shape& shape = shapes[k++ % shapes.size()];
          Tensor s = test::randn(shape, DType::f64, 31 + k), t = test::randn(shape, DType::f64, 7);
          expect_fused_equals_composed(spec, s, t, 1e-9);
          ++checked;
        }
  EXPECT_EQ(checked, 3 * 3 * 3 * 5);
}

TEST(KdFusedChain, Float32AndEdgeCases) {
  // float32 inputs: the fused chain accumulates in double, the composed one in float.
  Tensor s = test::randn({2, 8, 6, 6}, DType::f32, 1), t = test::randn({2, 8, 6, 6}, DType::f32, 2);
  expect_fused_equals_composed({Input::fgbg, {{"catt", 0.5}, {"norm_C", 0}}, "KL", 1}, s, t, 1e-4);
  expect_fused_equals_composed({Input::instance, {{"satt", 0.5}, {"norm_HW", 0}}, "L2", 1}, s, t,
                               1e-4);
  // Constant student maps: norm_HW gives 0, attention of a constant map is uniform.
  Tensor c = Tensor::full({2, 3, 4, 4}, 0.5, DType::f64);
  Tensor t64 = test::randn({2, 3, 4, 4}, DType::f64, 3);
  expect_fused_equals_composed({Input::global, {{"satt", 0.5}, {"norm_HW", 0}}, "cosine", 1}, c,
                               t64, 1e-9);
  expect_fused_equals_composed({Input::global, {{"catt", 0.5}}, "smooth-L1", 1}, c, t64, 1e-9);
  expect_fused_equals_composed({Input::global, {{"norm_C", 0}}, "L1", 1}, c, t64, 1e-9);
}

TEST(KdFusedChain, DispatchRules) {
  Tensor s = test::randn({2, 3, 4, 4}, DType::f64, 1), t = test::randn({2, 3, 4, 4}, DType::f64, 2);
  DistillerSpec ok{Input::global, {{"catt", 0.5}, {"norm_HW", 0}}, "L1", 1};
  EXPECT_TRUE(fused_chain_applies(ok, s, t));
  // Not fused: teacher needs a gradient, other transforms or distances, response inputs.
  Tensor tg = t.clone().set_requires_grad(true);
  EXPECT_FALSE(fused_chain_applies(ok, s, tg));
  EXPECT_FALSE(fused_chain_applies({Input::global, {{"norm_N", 0}}, "L1", 1}, s, t));
  EXPECT_FALSE(fused_chain_applies({Input::global, {{"scale_2", 0}}, "L1", 1}, s, t));
  EXPECT_FALSE(fused_chain_applies({Input::global, {{"mask", 0.5}}, "L1", 1}, s, t));
  EXPECT_FALSE(fused_chain_applies({Input::global, {{"min-max", 0}}, "L1", 1}, s, t));
  EXPECT_FALSE(fused_chain_applies({Input::global, {}, "Pearson", 1}, s, t));
  Tensor lg = test::randn({4, 5}, DType::f64, 3);
  EXPECT_FALSE(fused_chain_applies({Input::logits, {{"norm_C", 0}}, "L1", 1}, lg, lg));
  // With a teacher that needs a gradient the composed path runs and differentiates the teacher.
  distiller_loss(ok, s, tg).backward();
  EXPECT_TRUE(tg.grad().defined());
  // Errors of the fused op name it.
  EXPECT_NE(test::error_of([&] {
              kd_att_norm_dist(s, t, "mask", 0.5, "none", "L1");
            }).find("[kd_att_norm_dist] attention"),
            std::string::npos);
  EXPECT_THROW(kd_att_norm_dist(s, t, "satt", 0.0, "none", "L1"), ConfigError);
  EXPECT_THROW(kd_att_norm_dist(s, t, "none", 0.5, "norm_N", "L1"), ConfigError);
  EXPECT_THROW(kd_att_norm_dist(s, t, "none", 0.5, "none", "SSIM"), ConfigError);
  EXPECT_THROW(
      kd_att_norm_dist(s.reshape({2, 3, 16}), t.reshape({2, 3, 16}), "none", 0.5, "none", "L1"),
      ShapeError);
  EXPECT_TRUE(std::isnan(kd_att_norm_dist(Tensor::zeros({0, 3, 2, 2}), Tensor::zeros({0, 3, 2, 2}),
                                          "satt", 0.5, "none", "KL")
                             .item()));
}

TEST(KdFusedChain, HalfPrecisionInputs) {
  // f16 / bf16 inputs accumulate in float: close to the f32 result, gradient in the input dtype.
  Tensor s = test::randn({2, 4, 3, 5}, DType::f32, 8), t = test::randn({2, 4, 3, 5}, DType::f32, 9);
  for (DType dt : {DType::f16, DType::bf16}) {
    const double tol = dt == DType::f16 ? 5e-3 : 3e-2;
    Tensor sh = s.to(dt).set_requires_grad(true), th = t.to(dt);
    Tensor a = kd_att_norm_dist(sh, th, "catt", 0.5, "norm_HW", "KL");
    Tensor b = kd_att_norm_dist(sh.detach().to(DType::f32), th.to(DType::f32), "catt", 0.5,
                                "norm_HW", "KL");
    EXPECT_EQ(a.dtype(), dt);
    EXPECT_NEAR(a.item(), b.item(), tol * (1 + std::abs(b.item())));
    a.backward();
    EXPECT_EQ(sh.grad().dtype(), dt);
    Tensor c = kd_ssim(sh.detach(), th), d = kd_ssim(sh.detach().to(DType::f32), th.to(DType::f32));
    EXPECT_NEAR(c.item(), d.item(), tol * (1 + std::abs(d.item())));
  }
}

TEST(KdFusedChain, SsimEqualsComposed) {
  for (const Shape& shape : std::vector<Shape>{{2, 3, 5, 6}, {1, 1, 1, 1}, {3, 2, 1, 7}}) {
    Tensor s = test::randn(shape, DType::f64, 4) * 0.3 + 0.5;
    Tensor t = test::randn(shape, DType::f64, 5) * 0.2 + 0.4;
    auto f = value_grad([&](const Tensor& x) { return ssim_distance(x, t); }, s);
    auto c = value_grad([&](const Tensor& x) { return ssim_distance_composed(x, t); }, s);
    EXPECT_LT(max_rel_diff(f.first, c.first), 1e-10) << shape_str(shape);
    EXPECT_LT(max_rel_diff(f.second, c.second), 1e-9) << shape_str(shape);
  }
  // constant maps: finite value and gradient; identical inputs: distance 0.
  Tensor c = Tensor::full({2, 2, 3, 3}, 0.5, DType::f64);
  auto f = value_grad([&](const Tensor& x) { return kd_ssim(x, c); }, c);
  EXPECT_NEAR(f.first.item(), 0.0, 1e-12);
  for (double g : f.second.to_vector<double>()) EXPECT_TRUE(std::isfinite(g));
  EXPECT_THROW(kd_ssim(test::randn({2, 3, 4}), test::randn({2, 3, 4})), ShapeError);
  EXPECT_THROW(kd_ssim(c, c, -1.0), ConfigError);
  EXPECT_TRUE(std::isnan(kd_ssim(Tensor::zeros({0, 2, 3, 3}), Tensor::zeros({0, 2, 3, 3})).item()));
}

}  // namespace
}  // namespace detforge::kd

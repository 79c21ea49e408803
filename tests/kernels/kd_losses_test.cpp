// KD loss checks beyond the torch fixtures (scripts/fixtures/kd.py): errors, edge cases (N = 1,
// C = 1, huge logits, constant samples / channels), NaN propagation, no teacher gradient, long
// rows against a double reference.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "autograd/elementwise.h"
#include "autograd/kd_losses.h"
#include "tests/test_util.h"

namespace detforge {
namespace {

bool all_finite(const Tensor& t) {
  for (double v : t.to_vector<double>())
    if (!std::isfinite(v)) return false;
  return true;
}

TEST(KdLosses, Errors) {
  Tensor x = test::randn({4, 3});
  EXPECT_THROW(kd_soft_ce(x, test::randn({4, 2})), ShapeError);
  EXPECT_THROW(kd_soft_ce(test::randn({4}), test::randn({4})), ShapeError);
  EXPECT_THROW(kd_soft_ce(x, x, 0.0), ConfigError);
  EXPECT_THROW(kd_soft_ce(x, Tensor::zeros({4, 3}, DType::i64)), DTypeError);
  EXPECT_THROW(kd_pearson(x, test::randn({3, 4})), ShapeError);
  EXPECT_THROW(kd_bkd_nsr(test::randn({4}), test::randn({4})), ShapeError);
  try {
    kd_bkd_nsr(test::randn({2, 3, 4}), test::randn({2, 3, 5}));
    ADD_FAILURE();
  } catch (const ShapeError& e) {
    EXPECT_NE(std::string(e.what()).find("[kd_bkd_nsr] target of shape"), std::string::npos);
  }
}

TEST(KdLosses, SoftCeEdgeCases) {
  // identical logits: loss = entropy of the softmax; C = 1: loss 0, gradient 0.
  Tensor one = test::randn({5, 1}, DType::f32, 1).set_requires_grad(true);
  Tensor l = kd_soft_ce(one, test::randn({5, 1}, DType::f32, 2), 3.0);
  EXPECT_NEAR(l.item(), 0.0, 1e-7);
  l.backward();
  for (double g : one.grad().to_vector<double>()) EXPECT_NEAR(g, 0.0, 1e-7);
  // huge logits: the max shift keeps value and gradient finite; the value equals the scaled-down
  // problem's (T scales logits): kd(s, t, T) == kd(s / k, t / k, T / k).
  Tensor s = test::randn({3, 50}, DType::f32, 3) * 1e30;
  Tensor t = test::randn({3, 50}, DType::f32, 4) * 1e30;
  s.set_requires_grad(true);
  Tensor big = kd_soft_ce(s, t, 1e30);
  EXPECT_TRUE(std::isfinite(big.item()));
  EXPECT_NEAR(big.item(), kd_soft_ce(s.detach() * 1e-30, t * 1e-30, 1.0).item(), 1e-4);
  big.backward();
  EXPECT_TRUE(all_finite(s.grad()));
  Tensor s2 = test::randn({2, 8}, DType::f32, 5) * 1e4;  // T = 1 on huge logits
  EXPECT_TRUE(std::isfinite(kd_soft_ce(s2, s2 * 0.5).item()));
  // N = 1 row equals a long-row double reference.
  Tensor a = test::randn({1, 4000}, DType::f32, 6) * 3.0, b = test::randn({1, 4000}, DType::f32, 7);
  auto av = a.to_vector<double>(), bv = b.to_vector<double>();
  double ma = -1e300, mb = -1e300, za = 0, zb = 0, w = 0;
  for (size_t i = 0; i < av.size(); ++i) ma = std::max(ma, av[i] / 2), mb = std::max(mb, bv[i] / 2);
  for (size_t i = 0; i < av.size(); ++i) {
    za += std::exp(av[i] / 2 - ma);
    zb += std::exp(bv[i] / 2 - mb);
    w += std::exp(bv[i] / 2 - mb) * av[i] / 2;
  }
  EXPECT_NEAR(kd_soft_ce(a, b, 2.0).item(), ma + std::log(za) - w / zb, 1e-4);
}

TEST(KdLosses, TeacherGetsNoGradient) {
  Tensor s = test::randn({3, 6}, DType::f32, 8).set_requires_grad(true);
  Tensor t = test::randn({3, 6}, DType::f32, 9).set_requires_grad(true);
  (kd_soft_ce(s, t, 2.0) + kd_pearson(s, t) +
   kd_bkd_nsr(s.reshape({3, 2, 3}), t.reshape({3, 2, 3})))
      .backward();
  EXPECT_TRUE(s.grad().defined());
  EXPECT_FALSE(t.grad().defined());
}

TEST(KdLosses, PearsonConstantSamplesAndIdentity) {
  // identical samples: r = 1 up to eps; a constant sample: r = 0, loss 1, finite gradient.
  Tensor x = test::randn({2, 3, 4}, DType::f64, 10);
  EXPECT_NEAR(kd_pearson(x, x * 2.0 + 1.0).item(), 0.0, 1e-7);
  EXPECT_NEAR(kd_pearson(x, x * -1.0).item(), 2.0, 1e-7);
  Tensor c = Tensor::full({2, 12}, 4.0, DType::f32).set_requires_grad(true);
  Tensor l = kd_pearson(c, test::randn({2, 12}, DType::f32, 11));
  EXPECT_NEAR(l.item(), 1.0, 1e-6);
  l.backward();
  EXPECT_TRUE(all_finite(c.grad()));
  // both constant: still 1.
  EXPECT_NEAR(kd_pearson(Tensor::ones({1, 5}), Tensor::zeros({1, 5})).item(), 1.0, 1e-6);
}

TEST(KdLosses, NsrConstantChannelAndScale) {
  Tensor t = test::randn({2, 3, 4, 4}, DType::f32, 12);
  Tensor s = test::randn({2, 3, 4, 4}, DType::f32, 13);
  // invariant to a common affine scaling of target and student (up to eps).
  EXPECT_NEAR(kd_bkd_nsr(s * 10.0 + 3.0, t * 10.0 + 3.0).item(), kd_bkd_nsr(s, t).item(), 1e-4);
  EXPECT_NEAR(kd_bkd_nsr(t, t).item(), 0.0, 1e-12);
  // constant target everywhere: mse / eps, finite.
  Tensor tc = Tensor::full({2, 1, 3, 3}, 2.0, DType::f32);
  Tensor sc = Tensor::full({2, 1, 3, 3}, 2.5, DType::f32).set_requires_grad(true);
  Tensor l = kd_bkd_nsr(sc, tc, 1e-2);
  EXPECT_NEAR(l.item(), 0.25 / 1e-2, 1e-3);
  l.backward();
  EXPECT_TRUE(all_finite(sc.grad()));
}

TEST(KdLosses, NaNPropagates) {
  const double nan = std::numeric_limits<double>::quiet_NaN();
  std::vector<float> v(12, 0.5f);
  for (int i = 0; i < 12; ++i) v[i] = 0.1f * i;
  Tensor ok = Tensor::from_vector(v, {2, 6});
  v[3] = static_cast<float>(nan);
  Tensor bad = Tensor::from_vector(v, {2, 6});
  EXPECT_TRUE(std::isnan(kd_soft_ce(bad, ok).item()));
  EXPECT_TRUE(std::isnan(kd_soft_ce(ok, bad).item()));
  EXPECT_TRUE(std::isnan(kd_pearson(bad, ok).item()));
  EXPECT_TRUE(std::isnan(kd_pearson(ok, bad).item()));
  EXPECT_TRUE(std::isnan(kd_bkd_nsr(bad.reshape({2, 2, 3}), ok.reshape({2, 2, 3})).item()));
  EXPECT_TRUE(std::isnan(kd_bkd_nsr(ok.reshape({2, 2, 3}), bad.reshape({2, 2, 3})).item()));
}

TEST(KdLosses, HalfPrecisionMatchesFloat) {
  // f16 / bf16 inputs accumulate in float / double: the loss and the student gradient follow the
  // f32 result of the same (rounded) values.
  for (DType dt : {DType::f16, DType::bf16}) {
    Tensor s = test::randn({4, 3, 5}, DType::f32, 14).to(dt).set_requires_grad(true);
    Tensor t = test::randn({4, 3, 5}, DType::f32, 15).to(dt);
    Tensor m = test::rand_uniform({4, 1, 5}, 0, 1, DType::f32, 16).to(dt);  // a soft mask
    Tensor s32 = s.detach().to(DType::f32).set_requires_grad(true), t32 = t.to(DType::f32);
    Tensor l = kd_soft_ce(s.reshape({4, 15}), t.reshape({4, 15}), 2.0) + kd_pearson(s, t) +
               kd_bkd_nsr(s, t) + kd_masked_mse(s, t, m, 2.0, 0.5);
    Tensor l32 = kd_soft_ce(s32.reshape({4, 15}), t32.reshape({4, 15}), 2.0) +
                 kd_pearson(s32, t32) + kd_bkd_nsr(s32, t32) +
                 kd_masked_mse(s32, t32, m.to(DType::f32), 2.0, 0.5);
    EXPECT_EQ(l.dtype(), dt);
    EXPECT_NEAR(l.item(), l32.item(), 2e-2 * std::fabs(l32.item()));
    l.backward();
    l32.backward();
    EXPECT_EQ(s.grad().dtype(), dt);
    auto g = s.grad().to_vector<double>(), g32 = s32.grad().to_vector<double>();
    for (size_t i = 0; i < g.size(); ++i)
      EXPECT_NEAR(g[i], g32[i], 2e-2 * std::fabs(g32[i]) + 1e-3);
  }
}

TEST(KdLosses, EmptyBatchIsNaN) {
  EXPECT_TRUE(std::isnan(kd_soft_ce(Tensor::zeros({0, 4}), Tensor::zeros({0, 4})).item()));
  EXPECT_TRUE(std::isnan(kd_pearson(Tensor::zeros({0, 4}), Tensor::zeros({0, 4})).item()));
}

}  // namespace
}  // namespace detforge

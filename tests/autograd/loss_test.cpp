// Loss checks the golden fixtures cannot express: error messages, bad targets, the unbatched
// form, reduction consistency and the non-differentiable weight.
#include <gtest/gtest.h>

#include "autograd/loss.h"
#include "autograd/reduction.h"
#include "tests/test_util.h"

namespace detforge {
namespace {

template <class E, class F>
void expect_throw_with(F f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "no exception, expected one containing '" << needle << "'";
  } catch (const E& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(Loss, CrossEntropyRejectsOutOfRangeTarget) {
  Tensor x = test::randn({3, 4});
  Tensor t = Tensor::from_vector<int64_t>({0, 4, 1}, {3});
  expect_throw_with<Error>([&] { cross_entropy(x, t); }, "[cross_entropy] target 4");
}

TEST(Loss, CrossEntropyShapeAndArgErrors) {
  Tensor x = test::randn({3, 4});
  expect_throw_with<ShapeError>(
      [&] {
        cross_entropy(x, Tensor::from_vector<int64_t>({0, 1}, {2}));
      },
      "[cross_entropy] target of shape [2]");
  expect_throw_with<ShapeError>(
      [&] {
        cross_entropy(x, Tensor::from_vector<int64_t>({0, 1, 2}, {3}), test::randn({3}));
      },
      "weight");
  expect_throw_with<ConfigError>(
      [&] {
        cross_entropy(x, Tensor::from_vector<int64_t>({0, 1, 2}, {3}), {}, -100, "avg");
      },
      "reduction 'avg'");
  expect_throw_with<ConfigError>(
      [&] {
        cross_entropy(x, Tensor::from_vector<int64_t>({0, 1, 2}, {3}), {}, -100, "mean", 1.5);
      },
      "label_smoothing");
  expect_throw_with<ConfigError>([&] { smooth_l1_loss(x, x, "mean", -1.0); }, "beta");
  expect_throw_with<ShapeError>([&] { binary_cross_entropy_with_logits(x, test::randn({4})); },
                                "target size");
}

TEST(Loss, ReductionsAgree) {
  Tensor x = test::randn({5, 6}, DType::f64, 1), y = test::randn({5, 6}, DType::f64, 2);
  Tensor t = Tensor::from_vector<int64_t>({0, 5, 2, 3, 1}, {5});
  EXPECT_NEAR(mse_loss(x, y, "sum").item(), sum(mse_loss(x, y, "none")).item(), 1e-10);
  EXPECT_NEAR(l1_loss(x, y, "mean").item() * 30, l1_loss(x, y, "sum").item(), 1e-10);
  EXPECT_NEAR(cross_entropy(x, t, {}, -100, "mean").item() * 5,
              cross_entropy(x, t, {}, -100, "sum").item(), 1e-10);
  Tensor p = test::rand_uniform({5, 6}, 0.1, 1.0, DType::f64, 5);
  EXPECT_NEAR(kl_div(x, p, "batchmean").item() * 5, kl_div(x, p, "sum").item(), 1e-10);
}

TEST(Loss, IntegerTargetInt32IsAccepted) {
  Tensor x = test::randn({3, 4});
  Tensor t64 = Tensor::from_vector<int64_t>({0, 3, 1}, {3});
  Tensor t32 = Tensor::from_vector<int32_t>({0, 3, 1}, {3});
  EXPECT_NEAR(cross_entropy(x, t64).item(), cross_entropy(x, t32).item(), 1e-7);
}

TEST(Loss, WeightGetsNoGradient) {
  Tensor x = test::randn({3, 4}).set_requires_grad(true);
  Tensor w = Tensor::full({4}, 0.5).set_requires_grad(true);
  Tensor t = Tensor::from_vector<int64_t>({0, 3, 1}, {3});
  cross_entropy(x, t, w).backward();
  EXPECT_TRUE(x.grad().defined());
  EXPECT_FALSE(w.grad().defined());
}

TEST(Loss, BroadcastTargetGradientIsSummed) {
  Tensor x = test::randn({4, 3}, DType::f64, 3).set_requires_grad(true);
  Tensor y = test::randn({3}, DType::f64, 4).set_requires_grad(true);
  mse_loss(x, y, "sum").backward();
  auto gx = x.grad().to_vector<double>();
  auto gy = y.grad().to_vector<double>();
  for (int c = 0; c < 3; ++c) {
    double s = 0;
    for (int r = 0; r < 4; ++r) s += gx[r * 3 + c];
    EXPECT_NEAR(gy[c], -s, 1e-12);
  }
}

TEST(Loss, HalfInputsFollowFloat) {
  Tensor x = test::randn({6, 5}, DType::f32, 7).to(DType::f16).to(DType::f32);
  Tensor y = test::randn({6, 5}, DType::f32, 8).to(DType::f16).to(DType::f32);
  Tensor t = Tensor::from_vector<int64_t>({0, 4, 1, -100, 2, 3}, {6});
  Tensor w = Tensor::from_vector<float>({0.5f, 1.f, 1.5f, 2.f, 0.25f}, {5});
  Tensor xh = x.to(DType::f16).set_requires_grad(true), xf = x.clone().set_requires_grad(true);
  Tensor lh = cross_entropy(xh, t, w, -100, "mean", 0.1),
         lf = cross_entropy(xf, t, w, -100, "mean", 0.1);
  EXPECT_EQ(lh.dtype(), DType::f16);
  EXPECT_NEAR(lh.item(), lf.item(), 2e-3);
  lh.backward();
  lf.backward();
  DF_EXPECT_CLOSE(xh.grad().to(DType::f32), xf.grad(), 1e-2);
  EXPECT_NEAR(smooth_l1_loss(x.to(DType::f16), y.to(DType::f16), "sum", 0.5).item(),
              smooth_l1_loss(x, y, "sum", 0.5).item(), 2e-2);
}

}  // namespace
}  // namespace detforge

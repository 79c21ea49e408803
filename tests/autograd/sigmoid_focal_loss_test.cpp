// sigmoid_focal_loss checks beyond the torchvision fixtures (scripts/fixtures/focal_loss.py):
// errors, reduction consistency, half precision, the vectorised float path on long inputs.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/elementwise.h"
#include "autograd/reduction.h"
#include "autograd/sigmoid_focal_loss.h"
#include "tests/test_util.h"

namespace detforge {
namespace {

TEST(SigmoidFocalLoss, Errors) {
  Tensor x = test::randn({4, 3});
  EXPECT_THROW(sigmoid_focal_loss(x, test::randn({4, 2})), ShapeError);
  EXPECT_THROW(sigmoid_focal_loss(x, Tensor::zeros({4, 3}, DType::i64)), DTypeError);
  try {
    sigmoid_focal_loss(x, x, 0.25, 2, "batchmean");
    ADD_FAILURE();
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("[sigmoid_focal_loss] reduction 'batchmean'"),
              std::string::npos);
  }
}

// Reference in double with the libm functions, torchvision's formula step by step.
double ref_loss(double x, double y, double alpha, double gamma) {
  double p = 1 / (1 + std::exp(-x));
  double ce = std::max(x, 0.0) - x * y + std::log1p(std::exp(-std::fabs(x)));
  double pt = p * y + (1 - p) * (1 - y);
  double l = ce * std::pow(1 - pt, gamma);
  if (alpha >= 0) l *= alpha * y + (1 - alpha) * (1 - y);
  return l;
}

TEST(SigmoidFocalLoss, LongFloatInputsMatchDoubleReference) {
  // 100k elements: the parallel, vectorised float path (exp_fast, log1p series) and chunked sums.
  const int64_t n = 100000;
  Tensor x = test::randn({n / 10, 10}, DType::f32, 5);
  x = x * 4.0;
  Tensor y = test::rand_uniform({n / 10, 10}, 0, 1, DType::f32, 6);
  for (double gamma : {2.0, 1.0, 0.0, 1.7}) {
    Tensor none = sigmoid_focal_loss(x, y, 0.25, gamma, "none");
    auto xv = x.to_vector<double>(), yv = y.to_vector<double>(), lv = none.to_vector<double>();
    // 1 - p_t cancels in float (in torchvision too): per element ~1e-4 relative where p_t ~ 1.
    double sum = 0, err2 = 0, ref2 = 0, worst = 0;
    for (int64_t i = 0; i < n; ++i) {
      double r = ref_loss(xv[i], yv[i], 0.25, gamma);
      sum += r;
      err2 += (lv[i] - r) * (lv[i] - r);
      ref2 += r * r;
      worst = std::max(worst, std::fabs(lv[i] - r) / (std::fabs(r) + 1e-7));
    }
    EXPECT_LT(std::sqrt(err2 / ref2), 1e-6) << "gamma " << gamma;
    EXPECT_LT(worst, 3e-4) << "gamma " << gamma;
    EXPECT_NEAR(sigmoid_focal_loss(x, y, 0.25, gamma, "sum").item(), sum, 1e-5 * std::fabs(sum));
    EXPECT_NEAR(sigmoid_focal_loss(x, y, 0.25, gamma, "mean").item(), sum / n,
                1e-5 * std::fabs(sum / n));
  }
}

TEST(SigmoidFocalLoss, HalfMatchesFloat) {
  Tensor x = test::randn({64, 5}, DType::f32, 1);
  Tensor y = test::rand_uniform({64, 5}, 0, 1, DType::f32, 2);
  Tensor want =
      sigmoid_focal_loss(x.to(DType::f16).to(DType::f32), y.to(DType::f16).to(DType::f32));
  Tensor got = sigmoid_focal_loss(x.to(DType::f16), y.to(DType::f16));
  EXPECT_EQ(got.dtype(), DType::f16);
  DF_EXPECT_CLOSE(got.to(DType::f32), want, 2e-3);
}

TEST(SigmoidFocalLoss, GradOnlyForInputs) {
  Tensor x = test::randn({7, 3}, DType::f32, 3);
  Tensor y = test::rand_uniform({7, 3}, 0, 1, DType::f32, 4);
  x.set_requires_grad(true);
  Tensor l = sigmoid_focal_loss(x, y, 0.25, 2, "mean");
  l.backward();
  ASSERT_TRUE(x.grad().defined());
  EXPECT_FALSE(y.grad().defined());
}

}  // namespace
}  // namespace detforge

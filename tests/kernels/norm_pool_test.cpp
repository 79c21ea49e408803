// norm_pool family checks the golden fixtures cannot express: error messages, in-place running
// statistics through views and other dtypes, NaN in max pooling, input validation.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "autograd/norm_pool.h"
#include "autograd/op_registry.h"
#include "tensor/view_ops.h"
#include "tests/test_util.h"

namespace detforge {
namespace {

template <class E, class F>
void expect_throw_with(F&& f, const std::string& needle) {
  try {
    f();
    ADD_FAILURE() << "no exception, expected one containing '" << needle << "'";
  } catch (const E& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(BatchNorm, RunningStatsUpdatedThroughStridedViews) {
  Tensor x = test::randn({4, 3, 5}, DType::f32, 1);
  // running stats as every-other-element views of a larger buffer.
  Tensor buf_m = Tensor::zeros({6}), buf_v = Tensor::ones({6});
  Tensor rm = raw::slice(buf_m, 0, 0, 6, 2), rv = raw::slice(buf_v, 0, 0, 6, 2);
  ASSERT_FALSE(rm.is_contiguous());
  batch_norm(x, rm, rv, Tensor(), Tensor(), true, 0.5, 1e-5);
  auto xs = x.to_vector<double>();
  for (int64_t c = 0; c < 3; ++c) {
    double s = 0, ss = 0;
    for (int64_t n = 0; n < 4; ++n)
      for (int64_t l = 0; l < 5; ++l) s += xs[(n * 3 + c) * 5 + l];
    double mu = s / 20;
    for (int64_t n = 0; n < 4; ++n)
      for (int64_t l = 0; l < 5; ++l) ss += std::pow(xs[(n * 3 + c) * 5 + l] - mu, 2);
    EXPECT_NEAR(buf_m.to_vector<double>()[2 * c], 0.5 * mu, 1e-5);
    EXPECT_NEAR(buf_v.to_vector<double>()[2 * c], 0.5 + 0.5 * ss / 19, 1e-5);
    EXPECT_EQ(buf_m.to_vector<double>()[2 * c + 1], 0.0);  // untouched gaps
  }
}

TEST(BatchNorm, Float64RunningStatsWithFloat32Input) {
  Tensor x = test::randn({3, 2}, DType::f32, 2);
  Tensor rm = Tensor::zeros({2}, DType::f64), rv = Tensor::ones({2}, DType::f64);
  batch_norm(x, rm, rv, Tensor(), Tensor(), true, 1.0, 1e-5);
  auto xs = x.to_vector<double>();
  EXPECT_NEAR(rm.to_vector<double>()[0], (xs[0] + xs[2] + xs[4]) / 3, 1e-6);
}

TEST(BatchNorm, RunOpReturnsUpdatedStatsAndLeavesInputsAlone) {
  Tensor x = test::randn({4, 2, 3}, DType::f32, 4);
  Tensor rm = Tensor::zeros({2}), rv = Tensor::ones({2});
  auto r = run_op("batch_norm", {{"input", x}, {"running_mean", rm}, {"running_var", rv}},
                  {{"training", "true"}, {"momentum", "1"}});
  EXPECT_EQ(rm.to_vector<float>(), (std::vector<float>{0, 0}));
  EXPECT_EQ(rv.to_vector<float>(), (std::vector<float>{1, 1}));
  auto xs = x.to_vector<double>();
  double mu0 = 0;
  for (int64_t n = 0; n < 4; ++n)
    for (int64_t l = 0; l < 3; ++l) mu0 += xs[n * 6 + l] / 12;
  EXPECT_NEAR(r.at("running_mean").to_vector<double>()[0], mu0, 1e-6);
}

TEST(BatchNorm, Errors) {
  Tensor x = test::randn({2, 3, 4}, DType::f32, 3);
  expect_throw_with<Error>([&] { batch_norm(x, Tensor(), Tensor(), Tensor(), Tensor(), false); },
                           "[batch_norm] running_mean and running_var must be given");
  expect_throw_with<ShapeError>(
      [&] { batch_norm(x, Tensor(), Tensor(), Tensor::ones({4}), Tensor(), true); },
      "[batch_norm] weight has shape [4]");
  expect_throw_with<ShapeError>(
      [&] {
        batch_norm(test::randn({1, 3}), Tensor(), Tensor(), Tensor(), Tensor(), true);
      },
      "more than 1 value per channel");
}

TEST(GroupNorm, Errors) {
  expect_throw_with<ShapeError>(
      [&] {
        group_norm(test::randn({2, 6, 3}), 4);
      },
      "[group_norm] num_groups=4");
  expect_throw_with<ShapeError>(
      [&] {
        layer_norm(test::randn({2, 6, 3}), {6});
      },
      "[layer_norm] normalized_shape [6]");
}

TEST(MaxPool2d, NaNWinsAndIndicesFlat) {
  const float nan = std::numeric_limits<float>::quiet_NaN();
  // Two NaNs in the first window: PyTorch 1.13 reports the last one (index 4).
  std::vector<float> v{nan, 2, 3, 4, nan, 0, 5, 6, 7};
  auto [y, idx] = max_pool2d_with_indices(Tensor::from_vector(v, {1, 1, 3, 3}), {2}, {1});
  auto yv = y.to_vector<float>();
  EXPECT_TRUE(std::isnan(yv[0]) && std::isnan(yv[3]));
  EXPECT_EQ(idx.to_vector<int64_t>(), (std::vector<int64_t>{4, 4, 4, 4}));
  // Ties: the first maximum.
  auto [y2, idx2] = max_pool2d_with_indices(Tensor::ones({1, 1, 2, 2}), {2});
  EXPECT_EQ(idx2.to_vector<int64_t>(), (std::vector<int64_t>{0}));
}

TEST(Pool, Errors) {
  Tensor x = test::randn({1, 2, 5, 5});
  expect_throw_with<ConfigError>([&] { max_pool2d(x, {2}, {}, {2}); }, "[max_pool2d] padding");
  expect_throw_with<ShapeError>(
      [&] {
        avg_pool2d(test::randn({5, 5}), {2});
      },
      "[avg_pool2d] expected a 3-D");
  expect_throw_with<ConfigError>([&] { upsample_nearest2d(x, {}, {}); },
                                 "[upsample_nearest2d] give exactly one");
}

TEST(Pad, ErrorsAndIntegerInput) {
  Tensor x = test::randn({1, 2, 3, 4});
  expect_throw_with<ShapeError>(
      [&] {
        pad(x, {4, 0, 0, 0}, "reflect");
      },
      "[pad] reflect padding (4, 0)");
  expect_throw_with<ShapeError>([&] { pad(x, {1, 0}, "reflect"); }, "needs a 2-D or 3-D input");
  expect_throw_with<ConfigError>([&] { pad(x, {1, 1}, "circular"); }, "[pad] mode must be");
  Tensor xi = Tensor::from_vector(std::vector<int64_t>{1, 2, 3}, {1, 3});
  EXPECT_EQ(pad(xi, {1, 1}, "constant", 9).to_vector<int64_t>(),
            (std::vector<int64_t>{9, 1, 2, 3, 9}));
}

}  // namespace
}  // namespace detforge

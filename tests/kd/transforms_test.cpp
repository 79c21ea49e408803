// DetKDS transforms and distances: shapes, hand-computed values, gradients, and every valid
// (transform chain, distance) combination of each input running to a finite differentiable loss.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/elementwise.h"
#include "autograd/gradcheck.h"
#include "autograd/reduction.h"
#include "kd/distances.h"
#include "kd/transforms.h"
#include "tensor/error.h"
#include "tests/test_util.h"

namespace detforge::kd {
namespace {

Tensor vec(std::vector<double> v, const Shape& shape) {
  return Tensor::from_vector(v, shape);  // f64
}
double at(const Tensor& t, int64_t i) {
  return t.contiguous().to(DType::f64).data<double>()[i];
}

TEST(KdTransforms, ShapesAndLayouts) {
  Tensor f = test::randn({2, 3, 8, 6}, DType::f64, 1);
  EXPECT_EQ(spatial_attention(f, 0.5).shape(), f.shape());
  EXPECT_EQ(channel_attention(f, 0.5).shape(), f.shape());
  EXPECT_EQ(scale_pool(f, 2).shape(), (Shape{2, 3, 4, 3}));
  EXPECT_EQ(scale_pool(f, 4).shape(), (Shape{2, 3, 2, 1}));
  EXPECT_EQ(local_split(f, 4).shape(), (Shape{32, 3, 2, 1}));
  // local_2: patch (i, j) of sample b is row (i*2 + j)*N + b.
  Tensor l = local_split(f, 2);
  ASSERT_EQ(l.shape(), (Shape{8, 3, 4, 3}));
  const int64_t b = 1, i = 1, j = 0, c = 2, y = 3, x = 2;
  EXPECT_EQ(at(l, (((i * 2 + j) * 2 + b) * 3 + c) * 12 + y * 3 + x),
            at(f, ((b * 3 + c) * 8 + i * 4 + y) * 6 + j * 3 + x));
  EXPECT_NE(test::error_of([&] { local_split(test::randn({1, 1, 2, 2}), 4); }), "");
  EXPECT_EQ(logits_rows(test::randn({2, 5, 3, 3})).shape(), (Shape{18, 5}));
  // mask: ratio 0 keeps everything, deterministic per seed, about `ratio` zeros.
  EXPECT_EQ(at(sum(random_mask(f, 0.0, 3)), 0), 2 * 8 * 6);
  Tensor big = Tensor::zeros({4, 1, 50, 50});
  Tensor m1 = random_mask(big, 0.3, 9), m2 = random_mask(big, 0.3, 9);
  DF_EXPECT_CLOSE(m1, m2, 0);
  EXPECT_NEAR(at(mean(m1), 0), 0.7, 0.02);
  EXPECT_EQ(m1.shape(), (Shape{4, 1, 50, 50}));
}

TEST(KdTransforms, HandComputedValues) {
  // catt, tau 1: G_C = [1, 3]; A = 2 * softmax([1, 3]).
  Tensor f = vec({1, -3}, {1, 2, 1, 1});
  Tensor o = channel_attention(f, 1.0);
  const double e1 = std::exp(1.0), e3 = std::exp(3.0);
  EXPECT_NEAR(at(o, 0), 1 * 2 * e1 / (e1 + e3), 1e-12);
  EXPECT_NEAR(at(o, 1), -3 * 2 * e3 / (e1 + e3), 1e-12);
  // satt, tau 2 on a 1x2 map: G_S = [2, 4] (mean over 2 channels of |f|).
  Tensor g = vec({1, 2, 3, 6}, {1, 2, 1, 2});
  Tensor so = spatial_attention(g, 2.0);
  const double a0 = 2 * std::exp(1.0) / (std::exp(1.0) + std::exp(2.0));
  EXPECT_NEAR(at(so, 0), 1 * a0, 1e-12);
  EXPECT_NEAR(at(so, 2), 3 * a0, 1e-12);
  // scale_2 is 2x2 average pooling.
  EXPECT_NEAR(at(scale_pool(vec({1, 2, 3, 4}, {1, 1, 2, 2}), 2), 0), 2.5, 1e-12);
  // norm over [1, 2, 3]: biased variance 2/3.
  Tensor n = standardize(vec({1, 2, 3}, {1, 3}), {1});
  EXPECT_NEAR(at(n, 0), -1 / std::sqrt(2.0 / 3 + 1e-5), 1e-12);
  Tensor mm = min_max(vec({1, 2, 3}, {1, 3}), {1});
  EXPECT_NEAR(at(mm, 1), 1 / (2 + 1e-6), 1e-12);
  // distances
  EXPECT_NEAR(at(l2_distance(vec({3, 4}, {1, 2}), vec({0, 0}, {1, 2})), 0), 5, 1e-9);
  EXPECT_NEAR(at(cosine_distance(vec({1, 0}, {1, 2}), vec({0, 2}, {1, 2})), 0), 1, 1e-12);
  EXPECT_NEAR(at(pearson_distance(vec({1, 2, 4}, {1, 3}), vec({3, 5, 9}, {1, 3})), 0), 0, 1e-7);
  Tensor kl = kl_distance(vec({0, 0}, {1, 2}), vec({std::log(3.0), 0}, {1, 2}));
  EXPECT_NEAR(at(kl, 0), 0.75 * std::log(1.5) + 0.25 * std::log(0.5), 1e-12);
  Tensor x = test::randn({2, 3, 4, 4}, DType::f64, 2);
  EXPECT_NEAR(at(ssim_distance(x, x), 0), 0, 1e-12);
  // SSIM of a map against its negation: mu ~ (2 mu_s mu_t + c1)... computed by hand for [1, 3]
  // vs [3, 1]: mu 2 and 2, var 1 and 1, cov -1.
  const double c1 = 1e-4, c2 = 9e-4;
  const double ssim = (8 + c1) * (-2 + c2) / ((8 + c1) * (2 + c2));
  EXPECT_NEAR(at(ssim_distance(vec({1, 3}, {1, 1, 1, 2}), vec({3, 1}, {1, 1, 1, 2})), 0), 1 - ssim,
              1e-12);
  Tensor r = test::randn({6, 3}, DType::f64, 3);
  // Identical inputs: v_i = var_i / (var_i + 1e-5) ~ 1, so the loss is near log2(1e-8).
  EXPECT_LT(at(correlation_distance(r, r), 0), -25);
  // Hand value: column 0 of t = -column 0 of s gives v_0 ~ -1, so sum (v - 1)^2 ~ 4: loss ~ 2.
  Tensor r2 = r.clone();
  r2.narrow(1, 0, 1).copy_(r.narrow(1, 0, 1) * -1.0);
  EXPECT_NEAR(at(correlation_distance(r, r2), 0), 2, 1e-3);
  // IoU family: 2x2 box vs 4x4 box around the same point: IoU 1/4; enclosing = union.
  Tensor s = vec({1, 1, 1, 1}, {1, 4}), t = vec({2, 2, 2, 2}, {1, 4});
  EXPECT_NEAR(at(iou_distance(s, t), 0), 0.75, 1e-6);
  EXPECT_NEAR(at(distance("G-IoU", Input::loc, s, t), 0), 0.75, 1e-6);
  EXPECT_NEAR(at(distance("D-IoU", Input::loc, s, t), 0), 0.75, 1e-6);
  EXPECT_NEAR(at(iou_distance(s, s), 0), 0, 1e-6);
  // The whole loss is weight * distance.
  DistillerSpec spec{Input::global, {}, "L1", 8};
  EXPECT_NEAR(at(distiller_loss(spec, vec({1, 2}, {1, 1, 1, 2}), vec({0, 0}, {1, 1, 1, 2})), 0),
              8 * 1.5, 1e-12);
  EXPECT_NE(test::error_of([&] {
              distiller_loss(spec, test::randn({1, 1, 1, 2}), test::randn({1, 1, 2, 1}));
            }).find("differ"),
            std::string::npos);
}

// The "every valid combination runs and differentiates": chains x distances per input.
TEST(KdTransforms, EveryValidCombinationRunsAndDifferentiates) {
  int64_t runs = 0, nonzero = 0;
  for (int ii = 0; ii < kNumInputs; ++ii) {
    const Input in = static_cast<Input>(ii);
    Shape shape = is_feature(in)        ? Shape{2, 3, 8, 8}
                  : in == Input::logits ? Shape{5, 4}
                                        : Shape{6, 4};
    Tensor t = test::randn(shape, DType::f32, 100 + ii);
    for (const auto& chain : valid_chains(in)) {
      for (const auto& d : distance_names(in)) {
        DistillerSpec spec{in, chain, d, 1};
        Tensor s = test::randn(shape, DType::f32, 7 + ii).set_requires_grad(true);
        Tensor loss = distiller_loss(spec, s, t, 5);
        const std::string what = to_string(spec);
        ASSERT_EQ(loss.numel(), 1) << what;
        ASSERT_TRUE(std::isfinite(loss.item())) << what << " loss " << loss.item();
        loss.backward();
        ASSERT_TRUE(s.grad().defined()) << what;
        ASSERT_EQ(s.grad().shape(), s.shape()) << what;
        Tensor g = s.grad().to(DType::f64).contiguous();
        double gsum = 0;
        for (int64_t k = 0; k < g.numel(); ++k) {
          ASSERT_TRUE(std::isfinite(g.data<double>()[k])) << what;
          gsum += std::abs(g.data<double>()[k]);
        }
        nonzero += gsum > 0;
        ++runs;
      }
    }
  }
  EXPECT_EQ(runs, 3 * 140 * 7 + 5 * 7 + 4 * 5);
  // Only degenerate combinations (e.g. norm over a size-1 dim) may have an all-zero gradient.
  EXPECT_GT(nonzero, runs * 9 / 10) << nonzero << " of " << runs;
}

void expect_gradcheck(const DistillerSpec& spec, const Shape& shape) {
  Tensor s = test::randn(shape, DType::f64, 11).set_requires_grad(true);
  Tensor t = test::randn(shape, DType::f64, 12);
  auto r = gradcheck(
      [&](const std::vector<Tensor>& in) { return distiller_loss(spec, in[0], t, 3); }, {s});
  EXPECT_TRUE(r.ok) << to_string(spec) << ": " << r.message;
}

TEST(KdTransforms, Gradcheck) {
  expect_gradcheck({Input::global, {{"catt", 0.5}, {"scale_2", 0}, {"norm_N", 0}}, "L2", 1},
                   {2, 3, 4, 4});
  expect_gradcheck({Input::instance, {{"satt", 0.7}, {"local_2", 0}, {"norm_C", 0}}, "Pearson", 1},
                   {2, 3, 4, 4});
  expect_gradcheck({Input::fgbg, {{"mask", 0.5}, {"norm_HW", 0}}, "SSIM", 1}, {2, 2, 3, 3});
  expect_gradcheck({Input::global, {{"scale_4", 0}}, "KL", 1}, {2, 2, 8, 8});
  expect_gradcheck({Input::global, {{"catt", 0.5}}, "cosine", 1}, {2, 2, 3, 3});
  expect_gradcheck({Input::logits, {{"norm_C", 0}}, "Cor", 1}, {6, 4});
  expect_gradcheck({Input::logits, {{"reshape_N", 0}}, "KL", 1}, {5, 3});
  expect_gradcheck({Input::loc, {{"sigmoid", 0}}, "IoU", 1}, {5, 4});
  expect_gradcheck({Input::loc, {{"softmax_C", 0}}, "G-IoU", 1}, {5, 4});
  expect_gradcheck({Input::loc, {{"pow2", 0}}, "D-IoU", 1}, {5, 4});
}

}  // namespace
}  // namespace detforge::kd

// Focused checks of the IoU family beyond the fixtures: NaN for 0/0, dtype upcasting, loss
// broadcasting with its gradient reduction, and the CIoU gradient with alpha held constant.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/box_iou.h"
#include "autograd/nms.h"
#include "autograd/reduction.h"
#include "tests/test_util.h"

namespace detforge {
namespace {

TEST(BoxIou, ZeroAreaPairIsNaN) {
  Tensor a = Tensor::from_vector<float>({1, 1, 1, 3}, {1, 4});  // zero width
  Tensor b = Tensor::from_vector<float>({2, 2, 4, 2, 0, 0, 2, 2}, {2, 4});
  auto v = box_iou(a, b).to_vector<float>();
  EXPECT_TRUE(std::isnan(v[0]));  // 0 / 0, as torchvision
  EXPECT_EQ(v[1], 0.f);
}

TEST(BoxIou, NonFloatBoxesComputeInF32) {
  Tensor a = Tensor::from_vector<int64_t>({0, 0, 2, 2}, {1, 4});
  Tensor b = Tensor::from_vector<int64_t>({1, 1, 3, 3}, {1, 4});
  Tensor r = box_iou(a, b);
  EXPECT_EQ(r.dtype(), DType::f32);
  EXPECT_FLOAT_EQ(r.to_vector<float>()[0], 1.f / 7.f);
  EXPECT_EQ(generalized_box_iou_loss(a.to(DType::f16), b.to(DType::f16)).dtype(), DType::f32);
}

TEST(BoxIou, LossBroadcastsAndReducesGradient) {
  Tensor a = Tensor::from_vector<double>({0, 0, 2, 3}, {4}).set_requires_grad(true);
  Tensor b = Tensor::from_vector<double>({1, 1, 3, 3, 0, 1, 2, 2, 5, 5, 6, 7}, {3, 4});
  Tensor l = distance_box_iou_loss(a, b, "sum");
  l.backward();
  ASSERT_EQ(a.grad().shape(), (Shape{4}));
  // the same as summing the three single-pair gradients
  std::vector<double> want(4, 0.0);
  for (int k = 0; k < 3; ++k) {
    Tensor ak = Tensor::from_vector<double>({0, 0, 2, 3}, {4}).set_requires_grad(true);
    distance_box_iou_loss(ak, b.select(0, k)).backward();
    auto g = ak.grad().to_vector<double>();
    for (int c = 0; c < 4; ++c) want[c] += g[c];
  }
  auto got = a.grad().to_vector<double>();
  for (int c = 0; c < 4; ++c) EXPECT_NEAR(got[c], want[c], 1e-12);
}

// CIoU's gradient equals the finite difference of DIoU - alpha0 v with alpha0 frozen.
TEST(BoxIou, CompleteIouGradientHoldsAlphaConstant) {
  std::vector<double> av{0.5, 1.0, 3.0, 2.5}, bv{1.0, 0.2, 2.6, 3.1};
  auto eval = [&](const std::vector<double>& x, double alpha) {
    Tensor a = Tensor::from_vector<double>(x, {1, 4}), b = Tensor::from_vector<double>(bv, {1, 4});
    double diou = distance_box_iou(a, b).to_vector<double>()[0];
    double ciou = complete_box_iou(a, b).to_vector<double>()[0];
    double iou = box_iou(a, b).to_vector<double>()[0];
    double v = (diou - ciou);  // alpha * v at x
    // recover v: alpha = v / (1 - iou + v + eps) => alpha v = v^2 / (1 - iou + v + eps)
    double t =
        std::atan((x[2] - x[0]) / (x[3] - x[1])) - std::atan((bv[2] - bv[0]) / (bv[3] - bv[1]));
    double vv = 4 / (M_PI * M_PI) * t * t;
    EXPECT_NEAR(v, vv * vv / (1 - iou + vv + 1e-7), 1e-12);
    return diou - alpha * vv;
  };
  Tensor a = Tensor::from_vector<double>(av, {1, 4}).set_requires_grad(true);
  Tensor b = Tensor::from_vector<double>(bv, {1, 4});
  sum(complete_box_iou(a, b)).backward();
  double iou0 = box_iou(a.detach(), b).to_vector<double>()[0];
  double t0 = std::atan(2.5 / 1.5) - std::atan(1.6 / 2.9);
  double v0 = 4 / (M_PI * M_PI) * t0 * t0, alpha0 = v0 / (1 - iou0 + v0 + 1e-7);
  auto g = a.grad().to_vector<double>();
  for (int c = 0; c < 4; ++c) {
    auto xp = av, xm = av;
    xp[c] += 1e-6;
    xm[c] -= 1e-6;
    EXPECT_NEAR(g[c], (eval(xp, alpha0) - eval(xm, alpha0)) / 2e-6, 1e-6) << "coordinate " << c;
  }
}

TEST(Nms, NaNScoresDoNotBreakTheSort) {
  Tensor b = Tensor::from_vector<float>({0, 0, 1, 1, 5, 5, 6, 6, 0, 0, 1, 1}, {3, 4});
  Tensor s = Tensor::from_vector<float>({0.5f, NAN, 0.7f}, {3});
  EXPECT_EQ(nms(b, s, 0.5).to_vector<int64_t>(), (std::vector<int64_t>{1, 2}));
}

}  // namespace
}  // namespace detforge

namespace detforge {
namespace {

// The fixtures keep M < 8; here the vectorised main loop (M = 53) in f32 against the f64 path,
// forward and both gradients, for every pairwise kind.
TEST(BoxIou, VectorisedF32MatchesF64) {
  Tensor xy1 = test::rand_uniform({37, 2}, 0, 20, DType::f64, 1);
  Tensor wh1 = test::rand_uniform({37, 2}, 1, 8, DType::f64, 2);
  Tensor xy2 = test::rand_uniform({53, 2}, 0, 20, DType::f64, 3);
  Tensor wh2 = test::rand_uniform({53, 2}, 1, 8, DType::f64, 4);
  auto boxes = [](const Tensor& xy, const Tensor& wh) {
    auto a = xy.to_vector<double>(), b = wh.to_vector<double>();
    std::vector<double> v;
    for (size_t i = 0; i < a.size() / 2; ++i)
      v.insert(v.end(), {a[2 * i], a[2 * i + 1], a[2 * i] + b[2 * i], a[2 * i + 1] + b[2 * i + 1]});
    return Tensor::from_vector(v, {static_cast<int64_t>(v.size() / 4), 4});
  };
  Tensor b1 = boxes(xy1, wh1), b2 = boxes(xy2, wh2);
  Tensor g = test::randn({37, 53}, DType::f64, 5);
  using Fn = Tensor (*)(const Tensor&, const Tensor&);
  Fn fns[] = {&box_iou, &generalized_box_iou,
              [](const Tensor& a, const Tensor& b) { return distance_box_iou(a, b); },
              [](const Tensor& a, const Tensor& b) { return complete_box_iou(a, b); }};
  for (Fn f : fns) {
    Tensor outs[2], ga[2], gb[2];
    for (int k = 0; k < 2; ++k) {
      DType dt = k ? DType::f32 : DType::f64;
      Tensor a = b1.to(dt).detach().set_requires_grad(true);
      Tensor b = b2.to(dt).detach().set_requires_grad(true);
      outs[k] = f(a, b);
      outs[k].backward(g.to(dt));
      ga[k] = a.grad();
      gb[k] = b.grad();
    }
    DF_EXPECT_CLOSE(outs[1], outs[0], 1e-5);
    DF_EXPECT_CLOSE(ga[1], ga[0], 1e-4);
    DF_EXPECT_CLOSE(gb[1], gb[0], 1e-4);
  }
}

}  // namespace
}  // namespace detforge

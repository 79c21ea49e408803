// BoxCoder: the per-image wrappers (split / reshape as torchvision), encode-decode round trip,
// gradients reaching both inputs, errors. The element math is checked against torchvision by the
// op fixtures box_coder_{encode,decode}_* (scripts/fixtures/box_coder.py).
#include <gtest/gtest.h>

#include "autograd/reduction.h"
#include "detection/box_coder.h"
#include "tests/test_util.h"

namespace detforge::detection {
namespace {

Tensor boxes(int64_t n, uint64_t seed) {
  Tensor xy = test::rand_uniform({n, 2}, 0, 100, DType::f32, seed);
  Tensor wh = test::rand_uniform({n, 2}, 4, 50, DType::f32, seed + 1);
  auto a = xy.to_vector<float>(), b = wh.to_vector<float>();
  std::vector<float> v;
  for (int64_t i = 0; i < n; ++i) {
    v.insert(v.end(), {a[2 * i], a[2 * i + 1], a[2 * i] + b[2 * i], a[2 * i + 1] + b[2 * i + 1]});
  }
  return Tensor::from_vector(v, {n, 4});
}

TEST(BoxCoder, RoundTrip) {
  for (auto w : {std::array<double, 4>{1, 1, 1, 1}, std::array<double, 4>{10, 10, 5, 5}}) {
    BoxCoder coder(w);
    Tensor gt = boxes(30, 1), anchors = boxes(30, 7);
    Tensor t = coder.encode_single(gt, anchors);
    Tensor back = coder.decode_single(t, anchors);
    DF_EXPECT_CLOSE(back, gt, 1e-5);
  }
}

TEST(BoxCoder, PerImageWrappers) {
  BoxCoder coder({10, 10, 5, 5});
  Tensor a0 = boxes(5, 1), a1 = boxes(3, 2), g0 = boxes(5, 3), g1 = boxes(3, 4);
  auto t = coder.encode({g0, g1}, {a0, a1});
  ASSERT_EQ(t.size(), 2u);
  EXPECT_EQ(t[1].shape(), (Shape{3, 4}));
  DF_EXPECT_CLOSE(t[1], coder.encode_single(g1, a1), 1e-6);
  // decode: rel_codes [8, 2 * 4] -> [8, 2, 4]
  Tensor codes = test::randn({8, 8}, DType::f32, 9);
  Tensor d = coder.decode(codes, {a0, a1});
  ASSERT_EQ(d.shape(), (Shape{8, 2, 4}));
  Tensor all = Tensor::zeros({8, 4});
  Tensor single = coder.decode_single(codes.narrow(0, 5, 3), a1);
  DF_EXPECT_CLOSE(d.narrow(0, 5, 3).reshape({3, 8}), single, 1e-6);
}

TEST(BoxCoder, DecodeGradientsReachCodesAndBoxes) {
  BoxCoder coder;
  Tensor codes = test::randn({6, 4}, DType::f32, 3);
  Tensor b = boxes(6, 5);
  codes.set_requires_grad(true);
  b.set_requires_grad(true);
  Tensor out = coder.decode_single(codes, b);
  sum(out).backward();
  ASSERT_TRUE(codes.grad().defined());
  ASSERT_TRUE(b.grad().defined());
  // d(sum)/d t0 = 2 w (x1 and x2 both move with the centre); d/d t2 = 0 (x2 - x1 moves
  // oppositely... sum is symmetric).
  auto g = codes.grad().to_vector<float>();
  auto bv = b.to_vector<float>();
  EXPECT_NEAR(g[0], 2 * (bv[2] - bv[0]), 1e-4);
  EXPECT_NEAR(g[2], 0.0, 1e-4);
  // Encode never records history.
  Tensor t = coder.encode_single(b, b.detach());
  EXPECT_FALSE(t.requires_grad());
}

TEST(BoxCoder, Errors) {
  BoxCoder coder;
  EXPECT_THROW(coder.decode_single(Tensor::zeros({3, 5}), Tensor::zeros({3, 4})), ShapeError);
  EXPECT_THROW(coder.decode_single(Tensor::zeros({3, 4}), Tensor::zeros({2, 4})), ShapeError);
  EXPECT_THROW(coder.encode_single(Tensor::zeros({3, 3}), Tensor::zeros({3, 4})), ShapeError);
  EXPECT_THROW(BoxCoder({0, 1, 1, 1}).encode_single(Tensor::zeros({1, 4}), Tensor::zeros({1, 4})),
               ConfigError);
}

}  // namespace
}  // namespace detforge::detection

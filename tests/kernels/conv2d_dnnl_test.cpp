// oneDNN convolution on the CPU: hot shapes must resolve to a jit implementation (a `ref:` one is
// ~1000x slower, DESIGN.md section 4), primitives are cached, and 16-bit floats go through float.
#include <gtest/gtest.h>

#include "autograd/conv.h"
#include "kernels/conv/conv2d.h"
#include "tensor/view_ops.h"
#include "tests/test_util.h"

namespace detforge {
namespace {
using kernels::Conv2dParams;
using kernels::ConvDirection;

struct HotShape {
  const char* name;
  Shape input, weight;
  int64_t stride, padding;
};

// ResNet-18 at batch 8, 128x128 input (the shapes bench/conv_bench.cpp times).
std::vector<HotShape> resnet18_shapes() {
  return {{"conv1", {8, 3, 128, 128}, {64, 3, 7, 7}, 2, 3},
          {"layer1", {8, 64, 32, 32}, {64, 64, 3, 3}, 1, 1},
          {"layer2_down", {8, 64, 32, 32}, {128, 64, 3, 3}, 2, 1},
          {"layer2", {8, 128, 16, 16}, {128, 128, 3, 3}, 1, 1},
          {"layer2_1x1", {8, 64, 32, 32}, {128, 64, 1, 1}, 2, 0},
          {"layer3", {8, 128, 16, 16}, {256, 128, 3, 3}, 2, 1},
          {"layer3b", {8, 256, 8, 8}, {256, 256, 3, 3}, 1, 1},
          {"layer4", {8, 256, 8, 8}, {512, 256, 3, 3}, 2, 1},
          {"layer4b", {8, 512, 4, 4}, {512, 512, 3, 3}, 1, 1}};
}

TEST(Conv2dDnnl, HotResNetShapesAvoidRefImplementations) {
  for (auto& s : resnet18_shapes()) {
    Conv2dParams p;
    p.stride[0] = p.stride[1] = s.stride;
    p.padding[0] = p.padding[1] = s.padding;
    for (auto dir :
         {ConvDirection::forward, ConvDirection::backward_data, ConvDirection::backward_weight}) {
      if (dir == ConvDirection::backward_data && s.input[1] == 3)
        continue;  // conv1 needs no grad input
      std::string impl = kernels::conv2d_cpu_impl_info(dir, s.input, s.weight, false, p);
      EXPECT_NE(impl.rfind("ref:", 0), 0u)
          << s.name << " direction " << static_cast<int>(dir) << ": " << impl;
    }
  }
}

TEST(Conv2dDnnl, PrimitivesAreCached) {
  Tensor x = test::randn({2, 4, 9, 9}), w = test::randn({5, 4, 3, 3}, DType::f32, 1);
  conv2d(x, w, Tensor(), {2}, {1});
  int64_t h0, m0, h1, m1;
  kernels::conv2d_cpu_cache_stats(h0, m0);
  for (int i = 0; i < 3; ++i) conv2d(x, w, Tensor(), {2}, {1});
  kernels::conv2d_cpu_cache_stats(h1, m1);
  EXPECT_EQ(m1, m0);
  EXPECT_EQ(h1 - h0, 3);
}

TEST(Conv2dDnnl, MatchesFloat64Reference) {
  Tensor x = test::randn({2, 6, 10, 9}, DType::f32, 2),
         w = test::randn({8, 3, 3, 3}, DType::f32, 3);
  Tensor b = test::randn({8}, DType::f32, 4);
  Tensor y = conv2d(x, w, b, {2, 1}, {1, 2}, {1, 2}, 2);
  Tensor y64 =
      conv2d(x.to(DType::f64), w.to(DType::f64), b.to(DType::f64), {2, 1}, {1, 2}, {1, 2}, 2);
  DF_EXPECT_CLOSE(y, y64.to(DType::f32), 1e-5);
}

TEST(Conv2dDnnl, HalfAndBFloat16GoThroughFloat) {
  Tensor x = test::randn({1, 4, 6, 6}, DType::f32, 5), w = test::randn({3, 4, 3, 3}, DType::f32, 6);
  Tensor want = conv2d(x, w, Tensor(), {1}, {1});
  for (DType t : {DType::f16, DType::bf16}) {
    Tensor y = conv2d(x.to(t), w.to(t), Tensor(), {1}, {1});
    EXPECT_EQ(y.dtype(), t);
    DF_EXPECT_CLOSE(y.to(DType::f32), want, 2e-2);
  }
}

TEST(Conv2dDnnl, ErrorsNameShapes) {
  Tensor x = test::randn({1, 4, 6, 6}), w = test::randn({3, 3, 3, 3});
  try {
    conv2d(x, w);
    FAIL() << "expected ShapeError";
  } catch (const ShapeError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("[conv2d]", 0), 0u) << e.what();
    EXPECT_NE(std::string(e.what()).find("[1, 4, 6, 6]"), std::string::npos) << e.what();
  }
  EXPECT_THROW(conv2d(test::randn({1, 3, 2, 2}), w), ShapeError);  // output too small
  EXPECT_THROW(conv2d(test::randn({1, 3, 6, 6}), w, Tensor(), {1, 2, 3}),
               ConfigError);  // 3 strides
  EXPECT_THROW(conv2d(test::randn({1, 3, 6, 6}), w.to(DType::f64)), DTypeError);
}

}  // namespace
}  // namespace detforge

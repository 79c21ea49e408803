// The autograd engine: accumulation, shared subgraphs, retain_graph, hooks, no-grad, errors.
#include <gtest/gtest.h>

#include "autograd/elementwise.h"
#include "autograd/engine.h"
#include "autograd/grad_mode.h"
#include "autograd/reduction.h"
#include "tests/test_util.h"

namespace detforge {
namespace {

Tensor vec(std::vector<float> v) { return Tensor::from_vector(v, {static_cast<int64_t>(v.size())}); }

TEST(Engine, DiamondGraphSumsBothPaths) {
  Tensor x = vec({1, 2, 3}).set_requires_grad(true);
  Tensor y = mul(x, x);           // shared
  Tensor z = sum(add(y, mul(y, 3.0)));  // 4 x^2 -> dz/dx = 8x
  z.backward();
  EXPECT_EQ(x.grad().to_vector<float>(), (std::vector<float>{8, 16, 24}));
}

TEST(Engine, GradientsAccumulateAcrossBackwardCalls) {
  Tensor x = vec({1, -1}).set_requires_grad(true);
  sum(mul(x, 2.0)).backward();
  sum(mul(x, 3.0)).backward();
  EXPECT_EQ(x.grad().to_vector<float>(), (std::vector<float>{5, 5}));
}

TEST(Engine, SecondBackwardWithoutRetainGraphThrows) {
  Tensor x = vec({1, 2}).set_requires_grad(true);
  Tensor y = sum(mul(x, x));
  y.backward(Tensor(), /*retain_graph=*/true);
  y.backward();  // allowed: the first kept the graph
  EXPECT_EQ(x.grad().to_vector<float>(), (std::vector<float>{4, 8}));
  try {
    y.backward();
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("second time"), std::string::npos) << e.what();
  }
}

TEST(Engine, NoGradGuardRecordsNothing) {
  Tensor x = vec({1, 2}).set_requires_grad(true);
  Tensor y;
  {
    NoGradGuard g;
    y = mul(x, x);
  }
  EXPECT_FALSE(y.requires_grad());
  EXPECT_EQ(y.grad_fn(), nullptr);
}

TEST(Engine, LeafHookCanRewriteTheGradient) {
  Tensor x = vec({1, 2}).set_requires_grad(true);
  int calls = 0;
  x.register_hook([&](const Tensor& g) {
    ++calls;
    return mul(g, 10.0);
  });
  sum(x).backward();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(x.grad().to_vector<float>(), (std::vector<float>{10, 10}));
}

TEST(Engine, NonLeafHookSeesItsGradient) {
  Tensor x = vec({1, 2}).set_requires_grad(true);
  Tensor y = mul(x, 3.0);
  std::vector<float> seen;
  y.register_hook([&](const Tensor& g) {
    seen = g.to_vector<float>();
    return Tensor();  // keep
  });
  sum(mul(y, y)).backward();
  EXPECT_EQ(seen, (std::vector<float>{6, 12}));                  // 2y
  EXPECT_EQ(x.grad().to_vector<float>(), (std::vector<float>{18, 36}));  // 2y * 3
}

TEST(Engine, RetainGradKeepsNonLeafGradient) {
  Tensor x = vec({1, 2}).set_requires_grad(true);
  Tensor y = mul(x, 2.0);
  y.retain_grad();
  sum(y).backward();
  EXPECT_EQ(y.grad().to_vector<float>(), (std::vector<float>{1, 1}));
}

TEST(Engine, ImplicitGradOnlyForScalars) {
  Tensor x = vec({1, 2}).set_requires_grad(true);
  EXPECT_THROW(mul(x, 2.0).backward(), ShapeError);
}

TEST(Engine, FunctionalGradLeavesDotGradAlone) {
  Tensor x = vec({1, 2, 3}).set_requires_grad(true);
  Tensor y = sum(mul(x, x));
  auto g = autograd::grad({y}, {x}, {Tensor::ones({})});
  EXPECT_EQ(g[0].to_vector<float>(), (std::vector<float>{2, 4, 6}));
  EXPECT_FALSE(x.grad().defined());
}

TEST(Engine, BroadcastGradientsSumBack) {
  Tensor a = test::randn({3, 1}).set_requires_grad(true);
  Tensor b = test::randn({4}).set_requires_grad(true);
  sum(mul(a, b)).backward();
  EXPECT_EQ(a.grad().shape(), (Shape{3, 1}));
  EXPECT_EQ(b.grad().shape(), (Shape{4}));
  float sb = 0;
  for (float v : b.to_vector<float>()) sb += v;
  for (float v : a.grad().to_vector<float>()) EXPECT_NEAR(v, sb, 1e-5);
}

TEST(Engine, ViewsAreDifferentiable) {
  Tensor x = test::randn({4, 6}).set_requires_grad(true);
  Tensor y = x.narrow(1, 1, 3).transpose(0, 1).slice(1, 0, 4, 2).reshape({-1});
  sum(mul(y, 2.0)).backward();
  auto g = x.grad().to_vector<float>();
  for (int64_t r = 0; r < 4; ++r)
    for (int64_t c = 0; c < 6; ++c) {
      float want = (c >= 1 && c < 4 && r % 2 == 0) ? 2.f : 0.f;
      EXPECT_EQ(g[r * 6 + c], want) << r << "," << c;
    }
}

TEST(Engine, RequiresGradOnlyOnFloatingLeaves) {
  Tensor i = Tensor::zeros({2}, DType::i64);
  EXPECT_THROW(i.set_requires_grad(true), DTypeError);
  Tensor x = vec({1}).set_requires_grad(true);
  EXPECT_THROW(mul(x, 2.0).set_requires_grad(true), Error);
}

}  // namespace
}  // namespace detforge

namespace detforge {
namespace {
TEST(Engine, ReshapeThroughZeroDimKeepsTheGradient) {
  Tensor x = Tensor::from_vector<float>({3}, {1}).set_requires_grad(true);
  Tensor s = x.reshape({});  // 0-dim
  EXPECT_EQ(s.dim(), 0);
  Tensor back = s.reshape({1, 1}).squeeze();
  EXPECT_EQ(back.dim(), 0);
  mul(back, 2.0).backward();
  EXPECT_EQ(x.grad().to_vector<float>(), (std::vector<float>{2}));
}
}  // namespace
}  // namespace detforge

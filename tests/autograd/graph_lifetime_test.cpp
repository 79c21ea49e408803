// Graph lifetime: saved tensors are freed by a backward without retain_graph, dropping the output
// frees the whole graph, and repeated graphs do not accumulate (no reference cycles).
#include <gtest/gtest.h>

#include <memory>

#include "autograd/elementwise.h"
#include "autograd/loss.h"
#include "autograd/node.h"
#include "autograd/norm_pool.h"
#include "autograd/reduction.h"
#include "tests/test_util.h"

namespace detforge {
namespace {

struct Graph {
  Tensor y;                             // the scalar output
  std::weak_ptr<Storage> saved;         // storage of relu(x), saved by mul's backward
  std::weak_ptr<Node> relu_fn, mul_fn;  // nodes of the graph
};

// y = sum(mul(relu(x), w)); only y is kept by the caller.
Graph build(const Tensor& x, const Tensor& w) {
  Graph g;
  Tensor h = relu(x);
  g.saved = h.storage();
  g.relu_fn = h.grad_fn();
  Tensor m = mul(h, w);
  g.mul_fn = m.grad_fn();
  g.y = sum(m);
  return g;
}

TEST(GraphLifetime, BackwardFreesSavedTensors) {
  Tensor x = test::randn({4, 5}, DType::f32, 1).set_requires_grad(true);
  Tensor w = test::randn({4, 5}, DType::f32, 2).set_requires_grad(true);
  Graph g = build(x, w);
  ASSERT_FALSE(g.saved.expired()) << "mul's backward should hold relu(x) until backward runs";
  ASSERT_FALSE(g.mul_fn.expired());
  g.y.backward();
  EXPECT_TRUE(g.saved.expired()) << "saved tensors must be released after backward";
  // The nodes themselves stay reachable from y (as in PyTorch) until y is dropped.
  EXPECT_FALSE(g.mul_fn.expired());
  g.y = Tensor();
  EXPECT_TRUE(g.mul_fn.expired());
  EXPECT_TRUE(g.relu_fn.expired());
  EXPECT_TRUE(x.grad().defined());
  EXPECT_TRUE(w.grad().defined());
}

TEST(GraphLifetime, RetainGraphKeepsSavedTensorsUntilOutputDropped) {
  Tensor x = test::randn({3, 2}, DType::f32, 3).set_requires_grad(true);
  Tensor w = test::randn({3, 2}, DType::f32, 4).set_requires_grad(true);
  Graph g = build(x, w);
  g.y.backward(Tensor(), /*retain_graph=*/true);
  EXPECT_FALSE(g.saved.expired());
  g.y = Tensor();
  EXPECT_TRUE(g.saved.expired());
  EXPECT_TRUE(g.mul_fn.expired());
  EXPECT_TRUE(g.relu_fn.expired());
}

TEST(GraphLifetime, DroppingOutputWithoutBackwardFreesGraph) {
  Tensor x = test::randn({3, 2}, DType::f32, 5).set_requires_grad(true);
  Tensor w = test::randn({3, 2}, DType::f32, 6).set_requires_grad(true);
  Graph g = build(x, w);
  g.y = Tensor();
  EXPECT_TRUE(g.saved.expired());
  EXPECT_TRUE(g.mul_fn.expired());
  EXPECT_TRUE(g.relu_fn.expired());
  // The leaves are untouched and keep no reference to the dead graph.
  EXPECT_FALSE(x.grad().defined());
  EXPECT_TRUE(x.is_leaf());
}

TEST(GraphLifetime, RepeatedGraphsDoNotAccumulate) {
  Tensor x = test::randn({8, 8}, DType::f32, 7).set_requires_grad(true);
  Tensor w = test::randn({8, 8}, DType::f32, 8).set_requires_grad(true);
  for (int i = 0; i < 1000; ++i) {
    Graph g = build(x, w);
    g.y.backward();
    ASSERT_TRUE(g.saved.expired()) << "iteration " << i;
    g.y = Tensor();
    ASSERT_TRUE(g.mul_fn.expired()) << "iteration " << i;
    ASSERT_TRUE(g.relu_fn.expired()) << "iteration " << i;
  }
  // x.grad = 1000 * w * (x > 0); the accumulation itself must not pin any graph.
  EXPECT_TRUE(x.grad().defined());
  EXPECT_EQ(x.grad().grad_fn(), nullptr);
  EXPECT_EQ(w.grad().grad_fn(), nullptr);
}

// Every op family that saves state: after dropping its output, its node and everything it saved
// must be gone (a backward closure capturing a non-detached output would keep itself alive).
template <class F>
void expect_graph_freed(const char* what, F&& f) {
  std::weak_ptr<Node> fn;
  std::weak_ptr<TensorImpl> out_impl;
  {
    Tensor out = f();
    ASSERT_TRUE(out.grad_fn()) << what;
    fn = out.grad_fn();
    out_impl = out.impl_ptr();
  }
  EXPECT_TRUE(fn.expired()) << what << ": node still alive after its output was dropped";
  EXPECT_TRUE(out_impl.expired()) << what << ": output still alive after it was dropped";
}

TEST(GraphLifetime, OpsDoNotKeepTheirOutputsAlive) {
  Tensor x = test::randn({2, 3, 4, 4}, DType::f32, 9).set_requires_grad(true);
  Tensor y = test::randn({2, 3, 4, 4}, DType::f32, 10).set_requires_grad(true);
  expect_graph_freed("mul", [&] { return mul(x, y); });
  expect_graph_freed("div", [&] { return div(x, add(y, 10.0)); });
  expect_graph_freed("pow", [&] { return pow(abs(x), y); });
  expect_graph_freed("pow_scalar_base", [&] { return pow(2.0, x); });
  expect_graph_freed("sigmoid", [&] { return sigmoid(x); });
  expect_graph_freed("tanh", [&] { return tanh(x); });
  expect_graph_freed("exp", [&] { return exp(x); });
  expect_graph_freed("sqrt", [&] { return sqrt(abs(x)); });
  expect_graph_freed("gelu", [&] { return gelu(x); });
  expect_graph_freed("clamp", [&] { return clamp(x, -0.5, 0.5); });
  expect_graph_freed("maximum", [&] { return maximum(x, y); });
  expect_graph_freed("mean", [&] { return mean(x); });
  expect_graph_freed("narrow", [&] { return x.narrow(1, 1, 2); });
  expect_graph_freed("view", [&] { return x.view({2, -1}); });
  expect_graph_freed("expand", [&] { return x.narrow(0, 0, 1).expand({3, 3, 4, 4}); });
  expect_graph_freed("batch_norm", [&] {
    return batch_norm(x, Tensor(), Tensor(), Tensor::ones({3}), Tensor::zeros({3}), true);
  });
  expect_graph_freed("group_norm", [&] { return group_norm(x, 3); });
  expect_graph_freed("layer_norm", [&] { return layer_norm(x, {4, 4}); });
  expect_graph_freed("max_pool2d", [&] { return max_pool2d(x, {2}); });
  expect_graph_freed("avg_pool2d", [&] { return avg_pool2d(x, {2}); });
  expect_graph_freed("upsample_bilinear2d", [&] {
    return upsample_bilinear2d(x, {6, 6}, /*align_corners=*/false);
  });
  expect_graph_freed("pad", [&] { return pad(x, {1, 1, 1, 1}, "reflect"); });
  expect_graph_freed("mse_loss", [&] { return mse_loss(x, y); });
  expect_graph_freed("smooth_l1_loss", [&] { return smooth_l1_loss(x, y); });
  expect_graph_freed("bce_with_logits",
                     [&] { return binary_cross_entropy_with_logits(x, sigmoid(y)); });
  expect_graph_freed("cross_entropy", [&] {
    return cross_entropy(x.flatten(1), Tensor::from_vector<int64_t>({1, 40}, {2}));
  });
  // The leaves hold no graph either.
  EXPECT_TRUE(x.is_leaf());
  EXPECT_TRUE(y.is_leaf());
}

}  // namespace
}  // namespace detforge

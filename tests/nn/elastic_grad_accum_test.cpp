// Elastic weight gradients added straight into the leaf's .grad (autograd/elastic.h): equal to
// the engine path (autograd::grad, which never takes the direct route and is itself checked
// against PyTorch by the op fixtures), exactly zero outside the active slice, accumulated in place
// over several subnets (sandwich rule), no weight-sized allocation per step, and the persistent
// packed buffer never overwrites a packed weight a live graph still holds.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/conv.h"
#include "autograd/elastic.h"
#include "autograd/elementwise.h"
#include "autograd/engine.h"
#include "autograd/reduction.h"
#include "nn/elastic/elastic_layers.h"
#include "tensor/allocator.h"
#include "tensor/caching_allocator.h"
#include "tensor/view_ops.h"
#include "tests/test_util.h"

using namespace detforge;
using namespace detforge::nn;
using detforge::test::randn;

namespace {

struct Case {
  const char* name;
  int64_t out, in, k;
  bool matrices;
  std::vector<int64_t> out_index;
  bool bias;
};

// Slices of an [8, 6, 7, 7] weight: gather with 0 / 1 / 2 transforms, plain crop, in slice, row
// index list, and the zero-copy prefix view (out prefix, all in, k = 7).
const std::vector<Case>& cases() {
  static const std::vector<Case> c{
      {"crop7to3_two_matrices", 5, 4, 3, true, {}, true},
      {"crop7to5_one_matrix", 8, 6, 5, true, {}, false},
      {"plain_crop_in_slice", 3, 2, 3, false, {}, true},
      {"in_slice_full_k", 8, 3, 7, false, {}, false},
      {"row_index_list", 3, 6, 5, true, {6, 0, 3}, true},
      {"prefix_view", 4, 6, 7, false, {}, true},
  };
  return c;
}

struct Params {
  Tensor w, b, m75, m53;
};

Params make_params(uint64_t seed) {
  Params p;
  p.w = randn({8, 6, 7, 7}, DType::f32, seed).set_requires_grad(true);
  p.b = randn({8}, DType::f32, seed + 1).set_requires_grad(true);
  p.m75 = randn({25, 25}, DType::f32, seed + 2).set_requires_grad(true);
  p.m53 = randn({9, 9}, DType::f32, seed + 3).set_requires_grad(true);
  return p;
}

Tensor loss_of(const Params& p, const Case& c, const Tensor& x,
               ElasticPackedBuffer* buf = nullptr) {
  Tensor y = elastic_conv2d(x, p.w, c.bias ? p.b : Tensor(), c.matrices ? p.m75 : Tensor(),
                            c.matrices ? p.m53 : Tensor(), c.out, c.in, c.k, {1}, {}, {1}, 1,
                            c.out_index, {}, buf);
  return sum(mul(y, y));
}

std::vector<Tensor> inputs_of(const Params& p, const Case& c) {
  std::vector<Tensor> v{p.w};
  if (c.bias) v.push_back(p.b);
  if (c.matrices) {
    v.push_back(p.m75);
    v.push_back(p.m53);
  }
  return v;
}

Tensor input_for(const Case& c, uint64_t seed) {
  return randn({2, c.in, 6, 6}, DType::f32, seed);
}

// Sum of |g| outside rows `rows`, columns [0, in) and the centre span x span window.
double outside_abs(const Tensor& g, const std::vector<int64_t>& rows, int64_t in, int64_t span) {
  const int64_t K = g.size(2), lo = (K - span) / 2;
  std::vector<float> v = g.to_vector<float>();
  double s = 0;
  for (int64_t o = 0; o < g.size(0); ++o) {
    bool row_on = std::find(rows.begin(), rows.end(), o) != rows.end();
    for (int64_t i = 0; i < g.size(1); ++i)
      for (int64_t y = 0; y < K; ++y)
        for (int64_t x = 0; x < K; ++x) {
          bool inside = row_on && i < in && y >= lo && y < lo + span && x >= lo && x < lo + span;
          if (!inside) s += std::fabs(v[((o * g.size(1) + i) * K + y) * K + x]);
        }
  }
  return s;
}

std::vector<int64_t> rows_of(const Case& c) {
  if (!c.out_index.empty()) return c.out_index;
  std::vector<int64_t> r;
  for (int64_t o = 0; o < c.out; ++o) r.push_back(o);
  return r;
}

}  // namespace

TEST(ElasticGradAccum, BackwardEqualsEnginePathAndInactiveIsZero) {
  for (const Case& c : cases()) {
    SCOPED_TRACE(c.name);
    Params p = make_params(10);
    Tensor x = input_for(c, 20);
    std::vector<Tensor> in = inputs_of(p, c);
    std::vector<Tensor> ref = autograd::grad({loss_of(p, c, x)}, in, {Tensor::ones({})}, false,
                                             /*allow_unused=*/true);  // m53 unused at k = 5
    EXPECT_FALSE(p.w.grad().defined()) << "autograd::grad must not touch .grad";
    loss_of(p, c, x).backward();
    for (size_t i = 0; i < in.size(); ++i) {
      ASSERT_EQ(in[i].grad().defined(), ref[i].defined()) << i;
      if (!ref[i].defined()) continue;
      DF_EXPECT_CLOSE(in[i].grad(), ref[i], 1e-6);
    }
    // Transforms read the centre 5x5 (7->5 crossed); a plain crop reads the centre k x k.
    const int64_t span = c.matrices && c.k < 7 ? 5 : c.k;
    EXPECT_EQ(outside_abs(p.w.grad(), rows_of(c), c.in, span), 0.0);
    EXPECT_GT(sum(abs(p.w.grad())).item(), 0.0);
    if (c.bias && c.out_index.empty()) {
      std::vector<float> gb = p.b.grad().to_vector<float>();
      for (int64_t o = c.out; o < 8; ++o) EXPECT_EQ(gb[o], 0.0f) << "bias row " << o;
    }
  }
}

TEST(ElasticGradAccum, SandwichOfThreeSubnetsAccumulatesInPlace) {
  Params p = make_params(30);
  const Case subnets[3] = {cases()[0], cases()[2], cases()[5]};
  Tensor xs[3];
  Tensor want_w = Tensor::zeros({8, 6, 7, 7}), want_b = Tensor::zeros({8});
  Tensor want_m75 = Tensor::zeros({25, 25});
  for (int s = 0; s < 3; ++s) {
    const Case& c = subnets[s];
    xs[s] = input_for(c, 40 + s);
    Tensor l = loss_of(p, c, xs[s]);
    std::vector<Tensor> in{p.w, p.b, p.m75};
    auto g = autograd::grad({l}, in, {Tensor::ones({})}, false, /*allow_unused=*/true);
    want_w = add(want_w, g[0]);
    if (g[1].defined()) want_b = add(want_b, g[1]);
    if (g[2].defined()) want_m75 = add(want_m75, g[2]);
  }
  // Persistent .grad zeroed in place (zero_grad(false)): the same buffer all along.
  p.w.set_grad(Tensor::zeros({8, 6, 7, 7}));
  const void* grad_ptr = p.w.grad().data_ptr();
  for (int step = 0; step < 2; ++step) {
    if (step) {
      p.w.mutable_grad().zero_();
      for (Tensor* t : {&p.b, &p.m75, &p.m53}) t->set_grad(Tensor());
    }
    for (int s = 0; s < 3; ++s) loss_of(p, subnets[s], xs[s]).backward();
    EXPECT_EQ(p.w.grad().data_ptr(), grad_ptr);
    DF_EXPECT_CLOSE(p.w.grad(), want_w, 1e-6);
    DF_EXPECT_CLOSE(p.b.grad(), want_b, 1e-6);
    DF_EXPECT_CLOSE(p.m75.grad(), want_m75, 1e-6);
  }
}

TEST(ElasticGradAccum, RetainGraphHooksAndNonLeafWeightsFallBackCorrectly) {
  const Case& c = cases()[0];
  Tensor x = input_for(c, 50);
  Params p = make_params(60);
  std::vector<Tensor> in = inputs_of(p, c);
  std::vector<Tensor> ref = autograd::grad({loss_of(p, c, x)}, in, {Tensor::ones({})});
  // retain_graph: two backward passes through one graph add twice.
  Tensor l = loss_of(p, c, x);
  l.backward(Tensor(), /*retain_graph=*/true);
  l.backward();
  DF_EXPECT_CLOSE(p.w.grad(), mul(ref[0], 2.0), 1e-6);
  // autograd::grad on a retained graph after a backward: leaves .grad alone.
  Tensor l2 = loss_of(p, c, x);
  l2.backward(Tensor(), true);
  Tensor before = p.w.grad().clone();
  auto g2 = autograd::grad({l2}, {p.w}, {Tensor::ones({})});
  DF_EXPECT_CLOSE(g2[0], ref[0], 1e-6);
  DF_EXPECT_CLOSE(p.w.grad(), before, 0.0);
  // A leaf hook sees the whole gradient (engine path).
  Params q = make_params(60);
  int calls = 0;
  q.w.register_hook([&](const Tensor& g) {
    ++calls;
    EXPECT_EQ(g.shape(), (Shape{8, 6, 7, 7}));
    return mul(g, 3.0);
  });
  loss_of(q, c, x).backward();
  EXPECT_EQ(calls, 1);
  DF_EXPECT_CLOSE(q.w.grad(), mul(ref[0], 3.0), 1e-5);
  // A non-leaf weight (e.g. a reparametrisation) goes through the engine to its producer.
  Params r = make_params(60);
  Tensor src = r.w;
  r.w = mul(src, 1.0);
  loss_of(r, c, x).backward();
  DF_EXPECT_CLOSE(src.grad(), ref[0], 1e-6);
}

TEST(ElasticGradAccum, PackedBufferIsReusedOnlyWhenNoGraphHoldsIt) {
  const Case& c = cases()[2];  // gather path
  Params p = make_params(70);
  ElasticPackedBuffer buf;
  Tensor x = input_for(c, 71);
  std::vector<Tensor> in = inputs_of(p, c);
  std::vector<Tensor> ref = autograd::grad({loss_of(p, c, x)}, in, {Tensor::ones({})});
  for (int step = 0; step < 3; ++step) {
    loss_of(p, c, x, &buf).backward();
    p.w.set_grad(Tensor());
  }
  EXPECT_EQ(buf.blocks_allocated(), 1);
  // Two live graphs: the second forward must not overwrite the first's packed weight.
  Tensor l1 = loss_of(p, c, x, &buf);
  Case wider = cases()[3];  // in 3 of 6, k 7, no matrices: a different packed shape
  Tensor x2 = input_for(wider, 72);
  Tensor l2 = loss_of(p, wider, x2, &buf);
  EXPECT_EQ(buf.blocks_allocated(), 2);
  auto ref2 = autograd::grad({loss_of(p, wider, x2)}, {p.w}, {Tensor::ones({})});
  l1.backward();
  DF_EXPECT_CLOSE(p.w.grad(), ref[0], 1e-6);
  p.w.set_grad(Tensor());
  l2.backward();
  DF_EXPECT_CLOSE(p.w.grad(), ref2[0], 1e-6);
  // Both graphs gone: the (grown) block is reused for either shape.
  const int64_t blocks = buf.blocks_allocated();
  loss_of(p, c, x, &buf).backward();
  loss_of(p, wider, x2, &buf).backward();
  EXPECT_EQ(buf.blocks_allocated(), blocks);
}

TEST(ElasticGradAccum, NoWeightSizedAllocationPerStep) {
  // Host blocks >= 1 MiB go through the caching allocator, whose stats count them: the weight
  // (128 x 128 x 7 x 7 floats = 3.2 MB) is large, every sliced tensor of the step is small.
  const int64_t before_probe = cpu_cache_stats().allocations;
  { Tensor probe = Tensor::empty({1 << 20}); }
  if (cpu_cache_stats().allocations == before_probe)
    GTEST_SKIP() << "host caching allocator disabled: no allocation count";
  ElasticConv2dOptions o;
  o.max_in_channels = 128;
  o.max_out_channels = 128;
  o.kernel_sizes = {3, 5, 7};
  ElasticConv2d conv(o);
  Tensor x = randn({1, 32, 6, 6}, DType::f32, 80);
  struct Sub {
    int64_t out, k;
  } subs[3] = {{32, 3}, {16, 5}, {24, 7}};
  auto step = [&] {
    conv.zero_grad(/*set_to_none=*/false);
    for (const Sub& s : subs) {
      conv.set_active(s.out, s.k);
      sum(conv.forward(x)).backward();
    }
  };
  step();
  step();
  const void* gp = conv.param("weight").grad().data_ptr();
  const int64_t blocks = conv.packed_buffer().blocks_allocated();
  const int64_t allocs = cpu_cache_stats().allocations;
  for (int i = 0; i < 3; ++i) step();
  EXPECT_EQ(cpu_cache_stats().allocations - allocs, 0) << "weight-sized allocations per step";
  EXPECT_EQ(conv.packed_buffer().blocks_allocated(), blocks);
  EXPECT_EQ(conv.param("weight").grad().data_ptr(), gp);
  // Control: dropping .grad (set_to_none) costs one weight-sized zero .grad per step, and the
  // counter sees it.
  const int64_t allocs2 = cpu_cache_stats().allocations;
  conv.zero_grad(/*set_to_none=*/true);
  for (const Sub& s : subs) {
    conv.set_active(s.out, s.k);
    sum(conv.forward(x)).backward();
  }
  EXPECT_EQ(cpu_cache_stats().allocations - allocs2, 1);
}

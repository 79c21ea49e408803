// Elastic ops and layers: inactive-slice gradients exactly zero, the zero-copy prefix view,
// extract() equal to the active path, channel sorting preserving the function, BN recalibration
// equal to the exact statistics of the concatenated batches.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/conv.h"
#include "autograd/elastic.h"
#include "autograd/elementwise.h"
#include "autograd/grad_mode.h"
#include "autograd/indexing.h"
#include "autograd/reduction.h"
#include "nn/elastic/bn_recalibration.h"
#include "nn/elastic/elastic_layers.h"
#include "tensor/view_ops.h"
#include "tests/test_util.h"

using namespace detforge;
using namespace detforge::nn;
using detforge::test::randn;

namespace {
// Sum of |g| over the weight outside [0:out, 0:in, lo:lo+k, lo:lo+k].
double outside_abs(const Tensor& g, int64_t out, int64_t in, int64_t k) {
  const int64_t K = g.size(2), lo = (K - k) / 2;
  std::vector<float> v = g.to_vector<float>();
  double s = 0;
  for (int64_t o = 0; o < g.size(0); ++o)
    for (int64_t i = 0; i < g.size(1); ++i)
      for (int64_t y = 0; y < K; ++y)
        for (int64_t x = 0; x < K; ++x) {
          bool inside = o < out && i < in && y >= lo && y < lo + k && x >= lo && x < lo + k;
          if (!inside) s += std::fabs(v[((o * g.size(1) + i) * K + y) * K + x]);
        }
  return s;
}
}  // namespace

TEST(Elastic, InactiveWeightGradientIsExactlyZero) {
  Tensor w = randn({8, 6, 7, 7}, DType::f32, 1).set_requires_grad(true);
  Tensor m75 = randn({25, 25}, DType::f32, 2).set_requires_grad(true);
  Tensor m53 = randn({9, 9}, DType::f32, 3).set_requires_grad(true);
  Tensor x = randn({2, 4, 6, 6}, DType::f32, 4);
  Tensor y = elastic_conv2d(x, w, Tensor(), m75, m53, 5, 4, 3);
  sum(mul(y, y)).backward();
  ASSERT_TRUE(w.grad().defined());
  EXPECT_EQ(outside_abs(w.grad(), 5, 4, 5), 0.0);  // the 7->5 transform reads the centre 5x5
  EXPECT_GT(sum(abs(w.grad())).item(), 0.0);
  EXPECT_TRUE(m75.grad().defined() && m53.grad().defined());
  // Plain crop 7 -> 3: only the centre 3x3 of the active rows / columns.
  Tensor w2 = randn({8, 6, 7, 7}, DType::f32, 5).set_requires_grad(true);
  sum(elastic_conv2d(x, w2, Tensor(), Tensor(), Tensor(), 3, 4, 3)).backward();
  EXPECT_EQ(outside_abs(w2.grad(), 3, 4, 3), 0.0);
}

TEST(Elastic, IndexListSliceScattersToThoseRowsOnly) {
  Tensor w = randn({6, 4, 3, 3}, DType::f32, 6).set_requires_grad(true);
  Tensor x = randn({1, 4, 5, 5}, DType::f32, 7);
  Tensor y = elastic_conv2d(x, w, Tensor(), Tensor(), Tensor(), 2, 4, 3, {1}, {}, {1}, 1, {4, 1});
  Tensor wr = index_select(w.detach(), 0, Tensor::from_vector(std::vector<int64_t>{4, 1}, {2}));
  DF_EXPECT_CLOSE(y, conv2d(x, wr, Tensor(), {1}, {1}), 1e-5);
  sum(y).backward();
  std::vector<float> g = w.grad().to_vector<float>();
  for (int64_t o = 0; o < 6; ++o) {
    double s = 0;
    for (int64_t j = 0; j < 36; ++j) s += std::fabs(g[o * 36 + j]);
    if (o == 4 || o == 1)
      EXPECT_GT(s, 0.0);
    else
      EXPECT_EQ(s, 0.0) << "row " << o;
  }
}

TEST(Elastic, OutputPrefixFullKernelIsAView) {
  Tensor w = randn({8, 4, 5, 5}, DType::f32, 8);
  ElasticWeightConfig cfg{3, 4, 5, {}, {}};
  EXPECT_TRUE(elastic_weight_is_view(w, cfg));
  Tensor v = elastic_weight(w, Tensor(), Tensor(), cfg);
  EXPECT_TRUE(v.shares_storage(w));
  EXPECT_EQ(v.data_ptr(), w.data_ptr());
  EXPECT_EQ(v.shape(), (Shape{3, 4, 5, 5}));
  // Any other slice gathers into fresh memory.
  ElasticWeightConfig in_slice{3, 2, 5, {}, {}}, crop{3, 4, 3, {}, {}};
  EXPECT_FALSE(elastic_weight(w, Tensor(), Tensor(), in_slice).shares_storage(w));
  Tensor c = elastic_weight(w, Tensor(), Tensor(), crop);
  EXPECT_FALSE(c.shares_storage(w));
  DF_EXPECT_CLOSE(c, w.narrow(0, 0, 3).narrow(2, 1, 3).narrow(3, 1, 3), 0.0);
}

TEST(Elastic, Errors) {
  Tensor w = randn({4, 4, 5, 5});
  Tensor x = randn({1, 4, 5, 5});
  EXPECT_THROW(elastic_conv2d(x, w, Tensor(), Tensor(), Tensor(), 4, 4, 4), ShapeError);
  EXPECT_THROW(elastic_conv2d(x, w, Tensor(), Tensor(), Tensor(), 5, 4, 3), ShapeError);
  EXPECT_THROW(elastic_conv2d(x, w, Tensor(), randn({9, 9}), Tensor(), 4, 4, 3), ShapeError);
  EXPECT_THROW(elastic_conv2d(x, w, Tensor(), Tensor(), Tensor(), 2, 4, 3, {1}, {}, {1}, 1, {1, 1}),
               ShapeError);
}

TEST(ElasticLayers, ExtractEqualsActivePath) {
  ElasticConv2dOptions o;
  o.max_in_channels = 8;
  o.max_out_channels = 8;
  o.kernel_sizes = {3, 5, 7};
  o.bias = true;
  ElasticConv2d conv(o);
  {
    NoGradGuard ng;  // non-identity transforms
    Tensor m = conv.param("kernel_transform_7to5");
    m.copy_(add(m, mul(randn({25, 25}, DType::f32, 9), 0.1)));
    Tensor m3 = conv.param("kernel_transform_5to3");
    m3.copy_(add(m3, mul(randn({9, 9}, DType::f32, 10), 0.1)));
  }
  Tensor x = randn({2, 6, 7, 7}, DType::f32, 11);
  for (int64_t k : {7, 5, 3}) {
    conv.set_active(5, k);
    NoGradGuard ng;
    DF_EXPECT_CLOSE(conv.extract(6)->forward(x), conv.forward(x), 1e-5);
  }
  ElasticConv2dOptions d;
  d.max_in_channels = d.max_out_channels = 8;
  d.kernel_sizes = {3, 5};
  d.depthwise = true;
  ElasticConv2d dw(d);
  dw.set_active(8, 3);
  {
    NoGradGuard ng;
    Tensor y = dw.forward(x);
    EXPECT_EQ(y.size(1), 6);
    DF_EXPECT_CLOSE(dw.extract(6)->forward(x), y, 1e-5);
  }
  ElasticBatchNorm2d bn(8);
  ElasticGroupNorm gn(2, 8);
  ElasticLinear lin(8, 5);
  {
    NoGradGuard ng;
    raw::copy(bn.param("weight"), randn({8}, DType::f32, 12));
    raw::copy(bn.buffer("running_mean"), randn({8}, DType::f32, 13));
    raw::copy(gn.param("bias"), randn({8}, DType::f32, 14));
    bn.eval();
    DF_EXPECT_CLOSE(bn.extract(6)->forward(x), bn.forward(x), 1e-6);
    DF_EXPECT_CLOSE(gn.extract(6)->forward(x), gn.forward(x), 1e-6);
    lin.set_active(3);
    Tensor v = randn({4, 6}, DType::f32, 15);
    DF_EXPECT_CLOSE(lin.extract(6)->forward(v), lin.forward(v), 1e-6);
  }
  {  // training forwards count batches (on the buffer's device) as BatchNorm2d does
    NoGradGuard ng;
    ElasticBatchNorm2d counted(8);
    for (int i = 0; i < 3; ++i) counted.forward(x);
    EXPECT_EQ(counted.buffer("num_batches_tracked").item(), 3.0);
  }
}

TEST(ElasticLayers, ChannelSortingKeepsTheFunction) {
  ElasticConv2dOptions a;
  a.max_in_channels = 3;
  a.max_out_channels = 8;
  a.bias = true;
  ElasticConv2d c1(a);
  ElasticBatchNorm2d bn(8);
  ElasticConv2dOptions b;
  b.max_in_channels = 8;
  b.max_out_channels = 4;
  ElasticConv2d c2(b);
  NoGradGuard ng;
  raw::copy(bn.param("weight"), randn({8}, DType::f32, 20));
  raw::copy(bn.param("bias"), randn({8}, DType::f32, 21));
  raw::copy(bn.buffer("running_mean"), randn({8}, DType::f32, 22));
  bn.eval();
  Tensor x = randn({2, 3, 6, 6}, DType::f32, 23);
  auto net = [&] { return c2.forward(relu(bn.forward(c1.forward(x)))); };
  Tensor before = net();
  std::vector<int64_t> perm = sort_channels_by_importance(c1, &bn, c2);
  DF_EXPECT_CLOSE(net(), before, 1e-5);
  // Importance is now non-increasing.
  std::vector<float> w = c2.param("weight").to_vector<float>();
  std::vector<double> imp(8, 0.0);
  for (int64_t o = 0; o < 4; ++o)
    for (int64_t c = 0; c < 8; ++c)
      for (int64_t j = 0; j < 9; ++j) imp[c] += std::fabs(w[(o * 8 + c) * 9 + j]);
  for (int c = 1; c < 8; ++c) EXPECT_GE(imp[c - 1], imp[c]);
  EXPECT_EQ(perm.size(), 8u);
}

TEST(ElasticLayers, BNRecalibrationIsExact) {
  ElasticBatchNorm2d bn(6);
  std::vector<Tensor> batches = {randn({3, 4, 5, 5}, DType::f32, 30),
                                 mul(randn({2, 4, 5, 5}, DType::f32, 31), 3.0),
                                 add(randn({4, 4, 5, 5}, DType::f32, 32), 2.0)};
  bn.eval();
  recalibrate_bn(bn, batches);
  EXPECT_FALSE(bn.is_training());
  // Exact statistics of the concatenated batches, in double.
  std::vector<double> sum(4, 0.0), sq(4, 0.0);
  double n = 0;
  for (const Tensor& t : batches) {
    std::vector<float> v = t.to_vector<float>();
    for (int64_t i = 0; i < t.size(0); ++i)
      for (int64_t c = 0; c < 4; ++c)
        for (int64_t j = 0; j < 25; ++j) sum[c] += v[(i * 4 + c) * 25 + j];
    n += t.size(0) * 25;
  }
  for (auto& s : sum) s /= n;
  for (const Tensor& t : batches) {
    std::vector<float> v = t.to_vector<float>();
    for (int64_t i = 0; i < t.size(0); ++i)
      for (int64_t c = 0; c < 4; ++c)
        for (int64_t j = 0; j < 25; ++j) {
          double d = v[(i * 4 + c) * 25 + j] - sum[c];
          sq[c] += d * d;
        }
  }
  std::vector<float> rm = bn.buffer("running_mean").to_vector<float>();
  std::vector<float> rv = bn.buffer("running_var").to_vector<float>();
  for (int c = 0; c < 4; ++c) {
    EXPECT_NEAR(rm[c], sum[c], 1e-5);
    EXPECT_NEAR(rv[c], sq[c] / (n - 1), 1e-4);
  }
  EXPECT_EQ(rm[4], 0.0f);  // inactive channels reset
  EXPECT_EQ(rv[5], 1.0f);
}

TEST(ElasticLayers, BackwardWithAnUnappliedKernelTransform) {
  // Kernel 5 of {3, 5, 7}: only the 7->5 transform is applied; the 5->3 matrix (a leaf requiring
  // grad) must stay out of the graph instead of reaching AccumulateGrad with no gradient.
  ElasticConv2dOptions o;
  o.max_in_channels = o.max_out_channels = 6;
  o.kernel_sizes = {3, 5, 7};
  o.depthwise = true;
  ElasticConv2d conv(o);
  conv.set_active(6, 5);
  Tensor x = randn({1, 4, 6, 6}, DType::f32, 40);
  sum(mul(conv.forward(x), conv.forward(x))).backward();
  EXPECT_TRUE(conv.param("kernel_transform_7to5").grad().defined());
  EXPECT_FALSE(conv.param("kernel_transform_5to3").grad().defined());
  EXPECT_GT(sum(abs(conv.param("weight").grad())).item(), 0.0);
}

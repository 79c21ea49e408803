// Layers: weight-standardized conv against a reference computed here, BatchNorm running stats,
// Dropout, SqueezeExcitation, init helpers.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/conv.h"
#include "autograd/elementwise.h"
#include "autograd/gradcheck.h"
#include "autograd/reduction.h"
#include "nn/activation.h"
#include "nn/conv.h"
#include "nn/dropout.h"
#include "nn/init.h"
#include "nn/linear.h"
#include "nn/norm.h"
#include "nn/resnet.h"
#include "nn/squeeze_excitation.h"
#include "tests/test_util.h"

using namespace detforge;
using namespace detforge::nn;

TEST(NNLayers, WSConvMatchesReference) {
  Conv2dOptions o{4, 6, {3}, {1}, {1}, {1}, 2, true};
  WSConv2d conv(o);
  Tensor w = conv.param("weight");  // [6, 2, 3, 3]
  // Reference standardization in double: (w - mean) / (unbiased std + 1e-5) per output channel.
  std::vector<double> wv = w.to_vector<double>(), ref(wv.size());
  int64_t per = 2 * 3 * 3;
  for (int64_t c = 0; c < 6; ++c) {
    double m = 0, v = 0;
    for (int64_t i = 0; i < per; ++i) m += wv[c * per + i];
    m /= per;
    for (int64_t i = 0; i < per; ++i) v += (wv[c * per + i] - m) * (wv[c * per + i] - m);
    double sd = std::sqrt(v / (per - 1));
    for (int64_t i = 0; i < per; ++i) ref[c * per + i] = (wv[c * per + i] - m) / (sd + 1e-5);
  }
  Tensor wref = Tensor::from_vector(ref, w.shape()).to(DType::f32);
  DF_EXPECT_CLOSE(conv.effective_weight(), wref, 1e-6);
  Tensor x = test::randn({2, 4, 5, 5});
  Tensor want = conv2d(x, wref, conv.param("bias"), {1}, {1}, {1}, 2);
  DF_EXPECT_CLOSE(conv.forward(x), want, 1e-5);
  // Gradients reach the raw weight; checked by finite differences in double.
  Tensor wd = test::randn({3, 2, 2, 2}, DType::f64, 5).set_requires_grad(true);
  Tensor xd = test::randn({1, 2, 4, 4}, DType::f64, 6).set_requires_grad(true);
  auto fn = [](const std::vector<Tensor>& in) { return conv2d(in[0], standardize_weight(in[1])); };
  GradcheckResult gc = gradcheck(fn, {xd, wd});
  EXPECT_TRUE(gc.ok) << gc.message;
}

TEST(NNLayers, BatchNormTracksStats) {
  BatchNorm2d bn(3, 1e-5, 0.1);
  Tensor x = test::randn({4, 3, 5, 5});
  Tensor y = bn.forward(x);
  EXPECT_EQ(bn.buffer("num_batches_tracked").item(), 1.0);
  // running_mean = 0.9 * 0 + 0.1 * batch mean
  Tensor bm = mean(x, {0, 2, 3});
  DF_EXPECT_CLOSE(bn.buffer("running_mean"), mul(bm, 0.1), 1e-5);
  // Train mode output has zero mean per channel.
  EXPECT_LT(std::abs(mean(y).item()), 1e-5);
  bn.eval();
  Tensor ye = bn.forward(x);
  EXPECT_EQ(bn.buffer("num_batches_tracked").item(), 1.0);
  Tensor rm = bn.buffer("running_mean").view({1, 3, 1, 1});
  Tensor rv = bn.buffer("running_var").view({1, 3, 1, 1});
  DF_EXPECT_CLOSE(ye, div(sub(x, rm), sqrt(add(rv, 1e-5))), 1e-5);
  // Cumulative average (momentum None): after one batch the running mean is the batch mean.
  BatchNorm2d cma(3, 1e-5, std::nullopt);
  cma.forward(x);
  DF_EXPECT_CLOSE(cma.buffer("running_mean"), bm, 1e-5);
  // No tracking: no buffers, batch statistics even in eval.
  BatchNorm2d nt(3, 1e-5, 0.1, false, false);
  EXPECT_TRUE(nt.named_buffers().empty());
  EXPECT_TRUE(nt.named_parameters().empty());
  nt.eval();
  EXPECT_LT(std::abs(mean(nt.forward(x)).item()), 1e-5);
}

TEST(NNLayers, DropoutTrainAndEval) {
  Generator gen(7);
  Dropout d(0.25, &gen);
  Tensor x = Tensor::ones({1000});
  std::vector<float> y = d.forward(x).to_vector<float>();
  int zeros = 0;
  for (float v : y) {
    if (v == 0.f)
      ++zeros;
    else
      EXPECT_FLOAT_EQ(v, 1.f / 0.75f);
  }
  EXPECT_GT(zeros, 180);
  EXPECT_LT(zeros, 320);
  d.eval();
  EXPECT_TRUE(d.forward(x).is_same(x));
}

TEST(NNLayers, SqueezeExcitationMatchesManual) {
  SqueezeExcitation se(8, 4);
  auto names = se.named_parameters();
  ASSERT_EQ(names.size(), 4u);
  EXPECT_EQ(names[0].first, "fc1.weight");
  EXPECT_EQ(names[3].first, "fc2.bias");
  Tensor x = test::randn({2, 8, 3, 3});
  Tensor s = mean(x, {2, 3}, true);
  s = relu(conv2d(s, se.child("fc1").param("weight"), se.child("fc1").param("bias")));
  s = sigmoid(conv2d(s, se.child("fc2").param("weight"), se.child("fc2").param("bias")));
  DF_EXPECT_CLOSE(se.forward(x), mul(x, s), 1e-5);
  SqueezeExcitation hard(8, 4, true);
  Tensor h = hardsigmoid(Tensor::from_vector<float>({-4.f, -3.f, 0.f, 1.5f, 3.f, 5.f}, {6}));
  EXPECT_EQ(h.to_vector<float>(), (std::vector<float>{0.f, 0.f, 0.5f, 0.75f, 1.f, 1.f}));
  EXPECT_EQ(hard.forward(x).shape(), x.shape());
}

TEST(NNLayers, InitHelpers) {
  Tensor w = Tensor::empty({64, 32, 3, 3});
  init::kaiming_normal_(w, "fan_out");
  double var = mean(square(w)).item();
  EXPECT_NEAR(var, 2.0 / (64 * 9), 0.1 * 2.0 / (64 * 9));
  Linear l(100, 10);
  for (float v : l.param("weight").to_vector<float>()) EXPECT_LE(std::abs(v), 0.1f);
  for (float v : l.param("bias").to_vector<float>()) EXPECT_LE(std::abs(v), 0.1f);
  Identity id;
  Tensor x = test::randn({3});
  EXPECT_TRUE(id.forward(x).is_same(x));
}

TEST(NNLayers, GroupNormWSResNetKeepsNames) {
  // SM-NAS style GN+WS backbone: the same torchvision names, GroupNorm(32) and WSConv2d inside.
  ResNetConfig cfg;
  cfg.layers = {1, 1, 1, 1};
  cfg.num_classes = 3;
  cfg.weight_standardization = true;
  cfg.norm_layer = [](int64_t c) { return std::make_shared<GroupNorm>(32, c); };
  ResNet net(cfg);
  EXPECT_EQ(net.child("conv1").type_name(), "WSConv2d");
  EXPECT_EQ(net.submodule("layer2.0.downsample.1").type_name(), "GroupNorm");
  EXPECT_TRUE(net.named_buffers().empty());
  EXPECT_EQ(net.state_dict().count("layer3.0.bn2.weight"), 1u);
  Tensor x = test::randn({2, 3, 32, 32});
  auto feats = net.forward_features(x);
  ASSERT_EQ(feats.size(), 4u);
  EXPECT_EQ(feats[3].shape(), (Shape{2, 512, 1, 1}));
  Tensor loss = sum(net.forward(x));
  loss.backward();
  EXPECT_TRUE(net.child("conv1").param("weight").grad().defined());
  auto clone = net.clone_as<ResNet>();
  net.eval();
  clone->eval();
  DF_EXPECT_CLOSE(clone->forward(x), net.forward(x), 0.0);
}

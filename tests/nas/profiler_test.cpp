// nas/profiler: parameter and MAC counts against independent torchvision counts (computed with
// torch forward hooks on Conv2d / Linear in Debian's python3-torchvision: conv = out elements x
// Cin/groups x kh x kw, linear = out elements x in_features), module restoration, latency stats.
#include <gtest/gtest.h>

#include <atomic>

#include "autograd/grad_mode.h"
#include "nas/profiler/flops.h"
#include "nas/profiler/latency.h"
#include "nn/activation.h"
#include "nn/conv.h"
#include "nn/linear.h"
#include "nn/mobilenet_v2.h"
#include "nn/norm.h"
#include "nn/resnet.h"
#include "nn/sequential.h"
#include "tensor/error.h"

using namespace detforge;
using namespace detforge::nas;

namespace {

std::shared_ptr<nn::Sequential> tiny_net() {
  auto s = std::make_shared<nn::Sequential>();
  s->push_back(std::make_shared<nn::Conv2d>(3, 8, 3, 2, 1, 1, 1, false));  // 8x4x4 out of 8x8
  s->push_back(std::make_shared<nn::BatchNorm2d>(8));
  s->push_back(std::make_shared<nn::ReLU>());
  s->push_back(std::make_shared<nn::Conv2d>(8, 8, 3, 1, 1, 1, 4, true));  // grouped, with bias
  s->push_back(std::make_shared<nn::Flatten>());
  s->push_back(std::make_shared<nn::Linear>(8 * 4 * 4, 10));
  return s;
}

}  // namespace

TEST(Profiler, Resnet18MatchesTorchvision) {
  auto m = nn::resnet18();
  ModelCost c = profile_cost(*m, {1, 3, 224, 224});
  EXPECT_EQ(c.params, 11689512);
  EXPECT_EQ(c.trainable_params, 11689512);
  EXPECT_EQ(c.macs, 1814073344);  // 1.82 GMACs (fvcore 1.814 G, ptflops 1.82 GMac)
  EXPECT_NEAR(c.gmacs(), 1.82, 0.005 * 1.82);
  EXPECT_TRUE(c.uncounted.empty());
  EXPECT_GT(c.other_ops, 0);
  // 20 convs + 20 BNs + fc are the leaf calls (ReLU, max pool and residual adds are functional).
  EXPECT_EQ(c.layers.size(), 41u);
  EXPECT_EQ(c.layers.front().path, "conv1");
  EXPECT_EQ(c.layers.front().output_shape, (Shape{1, 64, 112, 112}));
  EXPECT_EQ(c.layers.back().path, "fc");
  EXPECT_EQ(c.layers.back().macs, 512000);
  // Other input sizes (odd sizes exercise the output-size rounding).
  EXPECT_EQ(profile_cost(*m, {1, 3, 128, 128}).macs, 592695296);
  EXPECT_EQ(profile_cost(*m, {1, 3, 97, 97}).macs, 440843456);
  // MACs are per batch: linear in N.
  EXPECT_EQ(profile_cost(*m, {2, 3, 128, 128}).macs, 2 * 592695296LL);
}

TEST(Profiler, Resnet50MatchesTorchvision) {
  auto m = nn::resnet50();
  ModelCost c = profile_cost(*m, {1, 3, 224, 224});
  EXPECT_EQ(c.params, 25557032);
  EXPECT_EQ(c.macs, 4089184256);  // 4.09 GMACs
  EXPECT_NEAR(c.gmacs(), 4.09, 0.005 * 4.09);
  EXPECT_EQ(profile_cost(*m, {1, 3, 128, 128}).macs, 1336623104);
}

TEST(Profiler, MobileNetV2AndResNeXtMatchTorchvision) {
  auto mb = nn::mobilenet_v2();
  ModelCost c = profile_cost(*mb, {1, 3, 224, 224});
  EXPECT_EQ(c.params, 3504872);
  EXPECT_EQ(c.macs, 300774272);  // ~0.30 GMACs (depthwise groups counted)
  EXPECT_EQ(profile_cost(*mb, {1, 3, 97, 97}).macs, 76391360);
  auto rx = nn::resnext50_32x4d();
  ModelCost r = profile_cost(*rx, {1, 3, 128, 128});
  EXPECT_EQ(r.params, 25028904);
  EXPECT_EQ(r.macs, 1382760448);
}

TEST(Profiler, TinyNetByHandAndOtherOps) {
  auto net = tiny_net();
  ModelCost c = profile_cost(*net, {2, 3, 8, 8});
  // conv1: 2*8*4*4 out x 3*3*3; conv2: 2*8*4*4 out x (8/4)*3*3; fc: 2*10 out x 128.
  const int64_t conv1 = 2 * 8 * 16 * 27, conv2 = 2 * 8 * 16 * 18, fc = 2 * 10 * 128;
  EXPECT_EQ(c.macs, conv1 + conv2 + fc);
  // BN and ReLU outputs, conv2 and fc bias adds; Flatten free.
  const int64_t out1 = 2 * 8 * 16;
  EXPECT_EQ(c.other_ops, out1 + out1 + out1 + 2 * 10);
  ASSERT_EQ(c.layers.size(), 6u);
  EXPECT_EQ(c.layers[0].path, "0");
  EXPECT_EQ(c.layers[0].type, "Conv2d");
  EXPECT_EQ(c.layers[0].params, 8 * 3 * 9);
  EXPECT_EQ(c.layers[4].type, "Flatten");
  EXPECT_EQ(c.layers[4].other_ops, 0);
  EXPECT_EQ(c.params, net->num_parameters());
  // A leaf root is profiled directly.
  nn::Linear lin(5, 7);
  ModelCost l = profile_cost(lin, {3, 5});
  EXPECT_EQ(l.macs, 3 * 5 * 7);
  EXPECT_EQ(l.other_ops, 3 * 7);
  ASSERT_EQ(l.layers.size(), 1u);
  EXPECT_EQ(l.layers[0].path, "");
}

TEST(Profiler, RestoresModulesModesAndGradMode) {
  auto net = tiny_net();
  net->train();
  net->child("1").eval();  // a mixed-mode model keeps each module's own mode
  auto before = net->named_children();
  profile_cost(*net, {1, 3, 8, 8});
  auto after = net->named_children();
  ASSERT_EQ(before.size(), after.size());
  for (size_t i = 0; i < before.size(); ++i) EXPECT_EQ(before[i].second, after[i].second) << i;
  EXPECT_TRUE(net->is_training());
  EXPECT_FALSE(net->child("1").is_training());
  EXPECT_TRUE(net->child("0").is_training());
  EXPECT_TRUE(GradMode::enabled());
  // A failing forward (wrong channel count) throws and still restores everything.
  EXPECT_THROW(profile_cost(*net, {1, 4, 8, 8}), Error);
  after = net->named_children();
  for (size_t i = 0; i < before.size(); ++i) EXPECT_EQ(before[i].second, after[i].second) << i;
  EXPECT_TRUE(net->is_training());
  EXPECT_THROW(profile_cost(*net, {1, 0, 8, 8}), ShapeError);
}

TEST(Profiler, CustomRunAndHumanCount) {
  auto m = nn::resnet18();
  // forward_features stops before the classifier: the same MACs minus the fc layer.
  ModelCost c =
      profile_cost(*m, {1, 3, 224, 224}, [&](const Tensor& x) { m->forward_features(x); });
  EXPECT_EQ(c.macs, 1814073344 - 512000);
  EXPECT_EQ(human_count(1814073344.0), "1.81 G");
  EXPECT_EQ(human_count(512.0), "512");
  EXPECT_EQ(human_count(11689512.0), "11.69 M");
}

TEST(Latency, MedianAndPercentile) {
  EXPECT_DOUBLE_EQ(median_of({3, 1, 2}), 2);
  EXPECT_DOUBLE_EQ(median_of({4, 1, 2, 3}), 2.5);
  std::vector<double> s;
  for (int i = 1; i <= 10; ++i) s.push_back(11 - i);
  EXPECT_DOUBLE_EQ(percentile_of(s, 0.9), 9);
  EXPECT_DOUBLE_EQ(percentile_of(s, 1.0), 10);
  EXPECT_THROW(median_of({}), ConfigError);
}

TEST(Latency, CallableWarmupAndRepeatsHonoured) {
  std::atomic<int> calls{0};
  LatencyStats st = measure_latency([&] { ++calls; }, kCPU, 3, 17);
  EXPECT_EQ(calls.load(), 20);
  EXPECT_EQ(st.samples_ms.size(), 17u);
  EXPECT_EQ(st.repeats, 17);
  EXPECT_EQ(st.warmup, 3);
  EXPECT_LE(st.min_ms, st.median_ms);
  EXPECT_LE(st.median_ms, st.p90_ms);
  EXPECT_LE(st.p90_ms, st.max_ms);
  EXPECT_THROW(measure_latency([] {}, kCPU, 0, 0), ConfigError);
}

TEST(Latency, TinyModelOnCpu) {
  auto net = tiny_net();
  net->train();
  LatencyOptions opt;
  opt.batch = 4;
  opt.warmup = 2;
  opt.repeats = 9;
  LatencyStats st = measure_latency(*net, {3, 8, 8}, opt);
  EXPECT_EQ(st.batch, 4);
  EXPECT_EQ(st.samples_ms.size(), 9u);
  EXPECT_GT(st.median_ms, 0);
  EXPECT_GT(st.mean_ms, 0);
  EXPECT_LT(st.median_ms, 1000);  // a 2k-MAC net: milliseconds at most
  EXPECT_GE(st.p90_ms, st.median_ms);
  EXPECT_TRUE(net->is_training());  // mode restored
  EXPECT_TRUE(GradMode::enabled());
}

TEST(Latency, CudaOrSkip) {
  if (!cuda_available()) GTEST_SKIP() << cuda_unavailable_reason();
  auto net = tiny_net();
  LatencyOptions opt;
  opt.device = cuda_device(0);
  opt.repeats = 5;
  LatencyStats st = measure_latency(*net, {3, 8, 8}, opt);
  EXPECT_GT(st.median_ms, 0);
  EXPECT_EQ(st.samples_ms.size(), 5u);
}

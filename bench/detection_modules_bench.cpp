// Detection necks and heads on the CPU (forward, eval mode, no grad): conv_transpose2d on the
// CenterNet ResNet-18 up-convolution shapes (batch 2, 16x16 C5 -> 128x128), forward and
// forward + backward, GFLOP/s; FPN (ResNet-50 C2..C5 of a 256x256 image, 256 channels, max-pool
// extra), RetinaNet head (P3..P7 of that image, 9 anchors, 80 classes) and the CenterNet head (C5
// of ResNet-18), images/s. bench/compare/detection_modules_torch_cpu.py times the same with
// PyTorch / torchvision.
#include <benchmark/benchmark.h>

#include "autograd/conv_transpose.h"
#include "autograd/grad_mode.h"
#include "detection/fpn.h"
#include "detection/heads/centernet_head.h"
#include "detection/heads/retinanet_head.h"

namespace detforge {
namespace {

struct DeconvShape {
  const char* name;
  int64_t n, c, h, w, o;
};
const DeconvShape kDeconv[] = {
    {"deconv1_512-256_16", 2, 512, 16, 16, 256},
    {"deconv2_256-128_32", 2, 256, 32, 32, 128},
    {"deconv3_128-64_64", 2, 128, 64, 64, 64},
};

double deconv_flops(const DeconvShape& s) {
  return 2.0 * s.n * s.c * s.h * s.w * s.o * 16;
}

void BM_ConvTranspose2dForward(benchmark::State& st) {
  const DeconvShape& s = kDeconv[st.range(0)];
  st.SetLabel(s.name);
  NoGradGuard ng;
  Tensor x = Tensor::full({s.n, s.c, s.h, s.w}, 0.5), w = Tensor::full({s.c, s.o, 4, 4}, 0.01);
  for (auto _ : st) benchmark::DoNotOptimize(conv_transpose2d(x, w, Tensor(), {2}, {1}));
  st.counters["GFLOP/s"] =
      benchmark::Counter(deconv_flops(s) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_ConvTranspose2dForwardBackward(benchmark::State& st) {
  const DeconvShape& s = kDeconv[st.range(0)];
  st.SetLabel(s.name);
  Tensor x = Tensor::full({s.n, s.c, s.h, s.w}, 0.5), w = Tensor::full({s.c, s.o, 4, 4}, 0.01);
  x.set_requires_grad(true);
  w.set_requires_grad(true);
  for (auto _ : st) {
    Tensor y = conv_transpose2d(x, w, Tensor(), {2}, {1});
    y.backward(y.detach());
    benchmark::DoNotOptimize(x.grad());
    x.set_grad(Tensor());
    w.set_grad(Tensor());
  }
  st.counters["GFLOP/s"] =
      benchmark::Counter(deconv_flops(s) * 3e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_FpnForward(benchmark::State& st) {
  detection::FpnOptions o;
  o.in_channels = {256, 512, 1024, 2048};
  o.out_channels = 256;
  o.extra = detection::FpnExtra::max_pool;
  detection::FeaturePyramidNetwork fpn(o);
  fpn.eval();
  detection::FeatureList in;
  for (int i = 0; i < 4; ++i)
    in.emplace_back(std::to_string(i), Tensor::full({1, o.in_channels[i], 64 >> i, 64 >> i}, 0.1));
  NoGradGuard ng;
  for (auto _ : st) benchmark::DoNotOptimize(fpn.forward(in));
  st.counters["images/s"] = benchmark::Counter(1, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_RetinaNetHeadForward(benchmark::State& st) {
  detection::RetinaNetHead head(256, 9, 80);
  head.eval();
  std::vector<Tensor> in;
  for (int s = 32; s >= 2; s /= 2) in.push_back(Tensor::full({1, 256, s, s}, 0.1));
  NoGradGuard ng;
  for (auto _ : st) benchmark::DoNotOptimize(head.forward(in));
  st.counters["images/s"] = benchmark::Counter(1, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_CenterNetHeadForward(benchmark::State& st) {
  detection::CenterNetHeadOptions o;
  o.in_channels = 512;
  o.num_classes = 80;
  detection::CenterNetHead head(o);
  head.eval();
  Tensor x = Tensor::full({1, 512, 16, 16}, 0.1);
  NoGradGuard ng;
  for (auto _ : st) benchmark::DoNotOptimize(head.predict(x));
  st.counters["images/s"] = benchmark::Counter(1, benchmark::Counter::kIsIterationInvariantRate);
}

BENCHMARK(BM_ConvTranspose2dForward)->DenseRange(0, 2)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ConvTranspose2dForwardBackward)->DenseRange(0, 2)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_FpnForward)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RetinaNetHeadForward)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_CenterNetHeadForward)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace detforge

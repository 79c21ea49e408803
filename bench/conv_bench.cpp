// conv2d on the ResNet-18 layer shapes (batch 8, 128x128 input), forward and forward+backward
// (grad input except for conv1, grad weight), GFLOP/s. bench/compare/conv_torch_cpu.py times the
// same shapes with PyTorch.
#include <benchmark/benchmark.h>

#include "autograd/conv.h"
#include "autograd/grad_mode.h"

namespace detforge {
namespace {

struct ConvShape {
  const char* name;
  int64_t n, c, h, w, o, k, stride, pad;
};

const ConvShape kShapes[] = {
    {"conv1_7x7s2_3-64_128", 8, 3, 128, 128, 64, 7, 2, 3},
    {"layer1_3x3_64-64_32", 8, 64, 32, 32, 64, 3, 1, 1},
    {"layer2_3x3s2_64-128_32", 8, 64, 32, 32, 128, 3, 2, 1},
    {"layer2_3x3_128-128_16", 8, 128, 16, 16, 128, 3, 1, 1},
    {"layer2_1x1s2_64-128_32", 8, 64, 32, 32, 128, 1, 2, 0},
    {"layer3_3x3s2_128-256_16", 8, 128, 16, 16, 256, 3, 2, 1},
    {"layer3_3x3_256-256_8", 8, 256, 8, 8, 256, 3, 1, 1},
    {"layer4_3x3s2_256-512_8", 8, 256, 8, 8, 512, 3, 2, 1},
    {"layer4_3x3_512-512_4", 8, 512, 4, 4, 512, 3, 1, 1},
};
constexpr int kNumShapes = sizeof(kShapes) / sizeof(kShapes[0]);

double fwd_flops(const ConvShape& s) {
  int64_t oh = (s.h + 2 * s.pad - s.k) / s.stride + 1, ow = (s.w + 2 * s.pad - s.k) / s.stride + 1;
  return 2.0 * s.n * s.o * oh * ow * s.c * s.k * s.k;
}

void BM_Conv2dForward(benchmark::State& st) {
  const ConvShape& s = kShapes[st.range(0)];
  st.SetLabel(s.name);
  NoGradGuard ng;
  Tensor x = Tensor::full({s.n, s.c, s.h, s.w}, 0.5), w = Tensor::full({s.o, s.c, s.k, s.k}, 0.01);
  for (auto _ : st) benchmark::DoNotOptimize(conv2d(x, w, Tensor(), {s.stride}, {s.pad}));
  st.counters["GFLOP/s"] =
      benchmark::Counter(fwd_flops(s) * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_Conv2dForwardBackward(benchmark::State& st) {
  const ConvShape& s = kShapes[st.range(0)];
  st.SetLabel(s.name);
  NoGradGuard ng;
  Tensor x = Tensor::full({s.n, s.c, s.h, s.w}, 0.5), w = Tensor::full({s.o, s.c, s.k, s.k}, 0.01);
  kernels::Conv2dParams p;
  p.stride[0] = p.stride[1] = s.stride;
  p.padding[0] = p.padding[1] = s.pad;
  bool grad_input = s.c != 3;  // the stem's input is the image
  for (auto _ : st) {
    Tensor y = conv2d(x, w, Tensor(), {s.stride}, {s.pad});
    Tensor go = y;  // any values of the right shape
    if (grad_input) benchmark::DoNotOptimize(conv2d_backward_input(go, w, x.shape(), p));
    benchmark::DoNotOptimize(conv2d_backward_weight(go, x, w.shape(), false, p));
  }
  double f = fwd_flops(s) * (grad_input ? 3 : 2);
  st.counters["GFLOP/s"] =
      benchmark::Counter(f * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

BENCHMARK(BM_Conv2dForward)
    ->DenseRange(0, kNumShapes - 1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
BENCHMARK(BM_Conv2dForwardBackward)
    ->DenseRange(0, kNumShapes - 1)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace detforge

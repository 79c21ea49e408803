// elastic_conv2d forward + backward across slices (in / out 25, 50, 75, 100 % of 256; kernel
// 3 / 5 / 7 of a 7x7 max weight with OFA's transforms) vs a static conv2d of the sliced shape.
// Batch 8, 32x32. Counter GFLOP/s = 3 x 2 x MACs of the sliced conv (fwd + bwd data + bwd weight)
// per second. CUDA variants skip without a GPU (the value read back at the end syncs the stream).
#include <benchmark/benchmark.h>

#include "autograd/conv.h"
#include "autograd/elastic.h"
#include "autograd/reduction.h"
#include "tensor/device.h"
#include "tensor/random.h"

namespace detforge {
namespace {

constexpr int64_t kMax = 256, kBatch = 8, kHW = 32;

struct Setup {
  Tensor x, w, m75, m53, g;
  int64_t out, in, k;
};

Setup make(benchmark::State& st, Device dev, bool elastic) {
  Setup s;
  s.out = kMax * st.range(0) / 100;
  s.in = kMax * st.range(1) / 100;
  s.k = st.range(2);
  s.x = randn({kBatch, s.in, kHW, kHW}, DType::f32, dev);
  if (elastic) {
    s.w = randn({kMax, kMax, 7, 7}, DType::f32, dev).set_requires_grad(true);
    s.m75 = randn({25, 25}, DType::f32, dev).set_requires_grad(true);
    s.m53 = randn({9, 9}, DType::f32, dev).set_requires_grad(true);
  } else {
    s.w = randn({s.out, s.in, s.k, s.k}, DType::f32, dev).set_requires_grad(true);
  }
  s.x.set_requires_grad(true);
  s.g = randn({kBatch, s.out, kHW, kHW}, DType::f32, dev);
  return s;
}

void report(benchmark::State& st, const Setup& s) {
  const double macs = double(kBatch) * s.out * s.in * s.k * s.k * kHW * kHW;
  st.counters["GFLOP/s"] =
      benchmark::Counter(6.0 * macs * st.iterations() * 1e-9, benchmark::Counter::kIsRate);
}

void run(benchmark::State& st, Device dev, bool elastic) {
  if (dev.is_cuda() && !cuda_available()) {
    st.SkipWithError("no usable GPU");
    return;
  }
  Setup s = make(st, dev, elastic);
  for (auto _ : st) {
    Tensor y = elastic ? elastic_conv2d(s.x, s.w, Tensor(), s.m75, s.m53, s.out, s.in, s.k)
                       : conv2d(s.x, s.w, Tensor(), {1}, {s.k / 2});
    y.backward(s.g);
    s.w.set_grad(Tensor());
    s.x.set_grad(Tensor());
    if (elastic) {
      s.m75.set_grad(Tensor());
      s.m53.set_grad(Tensor());
    }
    if (dev.is_cuda())
      benchmark::DoNotOptimize(y.narrow(0, 0, 1).narrow(1, 0, 1).to_vector<float>());
  }
  report(st, s);
}

void BM_ElasticConvCPU(benchmark::State& st) {
  run(st, kCPU, true);
}
void BM_StaticSlicedConvCPU(benchmark::State& st) {
  run(st, kCPU, false);
}
void BM_ElasticConvCUDA(benchmark::State& st) {
  run(st, cuda_device(0), true);
}
void BM_StaticSlicedConvCUDA(benchmark::State& st) {
  run(st, cuda_device(0), false);
}

void slices(benchmark::internal::Benchmark* b) {
  for (int64_t k : {3, 5, 7})
    for (int64_t p : {25, 50, 75, 100}) b->Args({p, p, k});
  b->Args({50, 75, 3});  // the reference point: out 128, in 192, 3x3
  b->ArgNames({"out%", "in%", "k"})->Unit(benchmark::kMillisecond)->UseRealTime();
}
BENCHMARK(BM_ElasticConvCPU)->Apply(slices);
BENCHMARK(BM_StaticSlicedConvCPU)->Apply(slices);
BENCHMARK(BM_ElasticConvCUDA)->Apply(slices);
BENCHMARK(BM_StaticSlicedConvCUDA)->Apply(slices);

}  // namespace
}  // namespace detforge

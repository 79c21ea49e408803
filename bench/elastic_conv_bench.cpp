// elastic_conv2d forward + backward across slices (in / out 25, 50, 75, 100 % of 256; kernel
// 3 / 5 / 7 of a 7x7 max weight with OFA's transforms) vs a static conv2d of the sliced shape.
// Batch 8, 32x32. Counter GFLOP/s = 3 x 2 x MACs of the sliced conv (fwd + bwd data + bwd weight)
// per second. CUDA variants skip without a GPU (device synchronize at the end of each call).
//
// The elastic side is what a training step does per subnet: the layer's persistent packed buffer
// (ElasticPackedBuffer) and a persistent weight .grad that the backward accumulates into in place
// (zeroed once per step by zero_grad(false), outside the per-subnet cost measured here). The static
// side gets its cheapest form: .grad dropped every call, so its weight gradient is stolen as .grad.
//
// BM_ElasticVsStatic* runs both alternately in every iteration (same load for both, which matters
// on a shared machine) and reports elastic_ms / static_ms (medians over the iterations) and
// ratio = elastic / static (the bound: <= 1.1), and the best single calls
// (elastic_best_ms / static_best_ms). The separate BM_ElasticConv* /
// BM_StaticSlicedConv* give Google Benchmark's usual per-call figures.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include "autograd/conv.h"
#include "autograd/elastic.h"
#include "autograd/reduction.h"
#include "tensor/device.h"
#include "tensor/random.h"
#include "tensor/stream.h"

namespace detforge {
namespace {

constexpr int64_t kMax = 256, kBatch = 8, kHW = 32;

struct Setup {
  Tensor x, w, m75, m53, g;  // elastic: max-size w and transforms
  Tensor xs, ws;             // static conv of the sliced shape
  int64_t out, in, k;
  ElasticPackedBuffer packed;
};

void make(benchmark::State& st, Device dev, Setup& s) {
  s.out = kMax * st.range(0) / 100;
  s.in = kMax * st.range(1) / 100;
  s.k = st.range(2);
  s.x = randn({kBatch, s.in, kHW, kHW}, DType::f32, dev).set_requires_grad(true);
  s.w = randn({kMax, kMax, 7, 7}, DType::f32, dev).set_requires_grad(true);
  s.m75 = randn({25, 25}, DType::f32, dev).set_requires_grad(true);
  s.m53 = randn({9, 9}, DType::f32, dev).set_requires_grad(true);
  s.xs = randn({kBatch, s.in, kHW, kHW}, DType::f32, dev).set_requires_grad(true);
  s.ws = randn({s.out, s.in, s.k, s.k}, DType::f32, dev).set_requires_grad(true);
  s.g = randn({kBatch, s.out, kHW, kHW}, DType::f32, dev);
}

void report(benchmark::State& st, const Setup& s, int64_t calls_per_iter = 1) {
  const double macs = double(kBatch) * s.out * s.in * s.k * s.k * kHW * kHW;
  st.counters["GFLOP/s"] = benchmark::Counter(6.0 * macs * st.iterations() * calls_per_iter * 1e-9,
                                              benchmark::Counter::kIsRate);
}

void sync(Device dev) {
  if (dev.is_cuda()) synchronize(dev);
}

void elastic_step(Setup& s) {
  Tensor y = elastic_conv2d(s.x, s.w, Tensor(), s.m75, s.m53, s.out, s.in, s.k, {1}, {}, {1}, 1, {},
                            {}, &s.packed);
  y.backward(s.g);
  // Persistent .grad (accumulated in place); the small ones are dropped like the static side's.
  s.x.set_grad(Tensor());
  s.m75.set_grad(Tensor());
  s.m53.set_grad(Tensor());
}

void static_step(Setup& s) {
  Tensor y = conv2d(s.xs, s.ws, Tensor(), {1}, {s.k / 2});
  y.backward(s.g);
  s.ws.set_grad(Tensor());
  s.xs.set_grad(Tensor());
}

bool skip_no_gpu(benchmark::State& st, Device dev) {
  if (dev.is_cuda() && !cuda_available()) {
    st.SkipWithError("no usable GPU");
    return true;
  }
  return false;
}

void run(benchmark::State& st, Device dev, bool elastic) {
  if (skip_no_gpu(st, dev)) return;
  Setup s;
  make(st, dev, s);
  for (int i = 0; i < 2; ++i) elastic ? elastic_step(s) : static_step(s);  // warm caches
  sync(dev);
  for (auto _ : st) {
    elastic ? elastic_step(s) : static_step(s);
    sync(dev);
  }
  report(st, s);
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

void run_pair(benchmark::State& st, Device dev) {
  if (skip_no_gpu(st, dev)) return;
  Setup s;
  make(st, dev, s);
  for (int i = 0; i < 2; ++i) {
    elastic_step(s);
    static_step(s);
  }
  sync(dev);
  std::vector<double> te, ts;
  using clock = std::chrono::steady_clock;
  for (auto _ : st) {
    auto t0 = clock::now();
    elastic_step(s);
    sync(dev);
    auto t1 = clock::now();
    static_step(s);
    sync(dev);
    auto t2 = clock::now();
    te.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    ts.push_back(std::chrono::duration<double, std::milli>(t2 - t1).count());
    st.SetIterationTime(std::chrono::duration<double>(t2 - t0).count());
  }
  const double me = median(te), ms = median(ts);
  st.counters["elastic_ms"] = me;
  st.counters["static_ms"] = ms;
  st.counters["ratio"] = ms > 0 ? me / ms : 0;
  // Best single calls too (what the PyTorch CPU script reports; least disturbed under load).
  st.counters["elastic_best_ms"] = te.empty() ? 0 : *std::min_element(te.begin(), te.end());
  st.counters["static_best_ms"] = ts.empty() ? 0 : *std::min_element(ts.begin(), ts.end());
  report(st, s, 2);
}

void BM_ElasticConvCPU(benchmark::State& st) {
  run(st, kCPU, true);
}
void BM_StaticSlicedConvCPU(benchmark::State& st) {
  run(st, kCPU, false);
}
void BM_ElasticVsStaticCPU(benchmark::State& st) {
  run_pair(st, kCPU);
}
void BM_ElasticConvCUDA(benchmark::State& st) {
  run(st, cuda_device(0), true);
}
void BM_StaticSlicedConvCUDA(benchmark::State& st) {
  run(st, cuda_device(0), false);
}
void BM_ElasticVsStaticCUDA(benchmark::State& st) {
  run_pair(st, cuda_device(0));
}

// in and out at 25 / 50 / 75 / 100 % (all 16 pairs) for each kernel size; {50, 75, 3} is the
// issue's reference point (out 128, in 192, 3x3).
void slice_args(benchmark::internal::Benchmark* b) {
  for (int64_t k : {3, 5, 7})
    for (int64_t po : {25, 50, 75, 100})
      for (int64_t pi : {25, 50, 75, 100}) b->Args({po, pi, k});  // includes {50, 75, 3}
  b->ArgNames({"out%", "in%", "k"})->Unit(benchmark::kMillisecond);
}
void slices(benchmark::internal::Benchmark* b) {
  slice_args(b);
  b->UseRealTime();
}
void pair_slices(benchmark::internal::Benchmark* b) {
  slice_args(b);
  b->UseManualTime();
}
BENCHMARK(BM_ElasticVsStaticCPU)->Apply(pair_slices);
BENCHMARK(BM_ElasticConvCPU)->Apply(slices);
BENCHMARK(BM_StaticSlicedConvCPU)->Apply(slices);
BENCHMARK(BM_ElasticVsStaticCUDA)->Apply(pair_slices);
BENCHMARK(BM_ElasticConvCUDA)->Apply(slices);
BENCHMARK(BM_StaticSlicedConvCUDA)->Apply(slices);

}  // namespace
}  // namespace detforge

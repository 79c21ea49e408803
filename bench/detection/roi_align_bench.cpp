// ROI Align on a Faster R-CNN box-head shape: features 2x256x64x64 (stride 4 of a 256x256 image),
// 512 ROIs, output 7x7, sampling_ratio 2, aligned=True. Same deterministic boxes as
// bench/compare/roi_align_torch_{cpu,gpu}.py. Counters: GB/s of the forward's byte floor (input
// read once, output written once) and GFLOP/s of the forward's multiply-adds (16 taps per bin
// sample); fwd+bwd reports the same counters against its own time. CPU variants: wall time
// (counters per wall second) plus the process CPU time of all threads (less sensitive to the load
// of a shared machine).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <random>

#ifdef DETFORGE_WITH_CUDA
#include <cuda_runtime.h>

#include "tensor/cuda/cuda_check.h"
#endif

#include "autograd/grad_mode.h"
#include "autograd/roi_align.h"

namespace detforge {
namespace {

constexpr int64_t kN = 2, kC = 256, kH = 64, kW = 64, kK = 512, kP = 7, kSR = 2;
constexpr double kScale = 0.25;

Tensor features() {
  std::mt19937_64 rng(1);
  std::normal_distribution<float> d;
  std::vector<float> v(static_cast<size_t>(kN * kC * kH * kW));
  for (auto& x : v) x = d(rng);
  return Tensor::from_vector(v, {kN, kC, kH, kW});
}

Tensor rois() {  // image coordinates of a 256x256 image
  std::vector<float> r;
  for (int64_t i = 0; i < kK; ++i) {
    float x1 = static_cast<float>((i * 53) % 192), y1 = static_cast<float>((i * 97) % 192);
    float w = static_cast<float>(16 + (i * 29) % 112), h = static_cast<float>(16 + (i * 41) % 112);
    r.insert(r.end(), {static_cast<float>(i % kN), x1, y1, std::min(x1 + w, 255.f),
                       std::min(y1 + h, 255.f)});
  }
  return Tensor::from_vector(r, {kK, 5});
}

Tensor grad_out() {
  std::mt19937_64 rng(2);
  std::normal_distribution<float> d;
  std::vector<float> v(static_cast<size_t>(kK * kC * kP * kP));
  for (auto& x : v) x = d(rng);
  return Tensor::from_vector(v, {kK, kC, kP, kP});
}

void counters(benchmark::State& st) {
  const double bytes = 4.0 * (kN * kC * kH * kW + kK * kC * kP * kP);
  const double flops = 2.0 * 16 * kSR * kSR * kK * kC * kP * kP;
  st.counters["GB/s"] = benchmark::Counter(bytes, benchmark::Counter::kIsIterationInvariantRate);
  st.counters["GFLOP/s"] =
      benchmark::Counter(flops * 1e-9, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_RoiAlignFwd(benchmark::State& st) {
  Tensor x = features(), r = rois();
  NoGradGuard ng;
  for (auto _ : st) benchmark::DoNotOptimize(roi_align(x, r, {kP, kP}, kScale, kSR, true));
  counters(st);
}
BENCHMARK(BM_RoiAlignFwd)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime()->UseRealTime();

void BM_RoiAlignFwdBwd(benchmark::State& st) {
  Tensor x = features().set_requires_grad(true), r = rois(), g = grad_out();
  for (auto _ : st) {
    Tensor y = roi_align(x, r, {kP, kP}, kScale, kSR, true);
    y.backward(g);
    benchmark::DoNotOptimize(x.grad().data_ptr());
    x.set_grad(Tensor());
  }
  counters(st);
}
BENCHMARK(BM_RoiAlignFwdBwd)->Unit(benchmark::kMillisecond)->MeasureProcessCPUTime()->UseRealTime();

#ifdef DETFORGE_WITH_CUDA
// CUDA, timed with events on the current stream (manual time). range(0): deterministic backward.
void run_cuda(benchmark::State& st, bool backward) {
  if (!cuda_available()) {
    st.SkipWithError("no CUDA device");
    return;
  }
  Device dev = cuda_device(0);
  const bool det = st.range(0) != 0;
  Tensor x = features().to(dev).set_requires_grad(backward), r = rois().to(dev),
         g = grad_out().to(dev);
  cudaStream_t s = cuda::current_stream(0);
  cudaEvent_t e0, e1;
  DF_CUDA_CHECK(cudaEventCreate(&e0));
  DF_CUDA_CHECK(cudaEventCreate(&e1));
  for (auto _ : st) {
    DF_CUDA_CHECK(cudaEventRecord(e0, s));
    if (backward) {
      Tensor y = roi_align(x, r, {kP, kP}, kScale, kSR, true, det);
      y.backward(g);
      x.set_grad(Tensor());
    } else {
      NoGradGuard ng;
      benchmark::DoNotOptimize(roi_align(x, r, {kP, kP}, kScale, kSR, true, det));
    }
    DF_CUDA_CHECK(cudaEventRecord(e1, s));
    DF_CUDA_CHECK(cudaEventSynchronize(e1));
    float ms = 0;
    DF_CUDA_CHECK(cudaEventElapsedTime(&ms, e0, e1));
    st.SetIterationTime(ms * 1e-3);
  }
  DF_CUDA_CHECK(cudaEventDestroy(e0));
  DF_CUDA_CHECK(cudaEventDestroy(e1));
  counters(st);
}
void BM_RoiAlignFwd_CUDA(benchmark::State& st) {
  run_cuda(st, false);
}
void BM_RoiAlignFwdBwd_CUDA(benchmark::State& st) {
  run_cuda(st, true);
}
BENCHMARK(BM_RoiAlignFwd_CUDA)->Arg(0)->Unit(benchmark::kMicrosecond)->UseManualTime();
BENCHMARK(BM_RoiAlignFwdBwd_CUDA)->Arg(0)->Arg(1)->Unit(benchmark::kMicrosecond)->UseManualTime();
#endif

}  // namespace
}  // namespace detforge

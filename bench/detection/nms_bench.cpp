// NMS and pairwise IoU: CPU nms / batched_nms on 4,000 and 20,000 boxes, box_iou and
// generalized_box_iou (forward + backward) on 1000 x 1000 boxes. Box distribution as
// bench/compare/nms_torch_cpu.py: centres uniform in 800 x 800, widths/heights uniform in
// [16, 256), scores uniform in [0, 1), classes uniform in [0, 10). CUDA variants skip without a
// GPU.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <random>

#ifdef DETFORGE_WITH_CUDA
#include "tensor/cuda/cuda_check.h"
#endif

#include "autograd/box_iou.h"
#include "autograd/nms.h"

namespace detforge {
namespace {

struct BoxSet {
  Tensor boxes, scores, idxs;
};

// With --benchmark_repetitions: the fastest repetition too (the machine is shared).
double min_of(const std::vector<double>& v) {
  return *std::min_element(v.begin(), v.end());
}

BoxSet make_boxes(int64_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<float> c(0.f, 800.f), sz(16.f, 256.f), u(0.f, 1.f);
  std::vector<float> b, s;
  std::vector<int64_t> k;
  for (int64_t i = 0; i < n; ++i) {
    float cx = c(rng), cy = c(rng), w = sz(rng), h = sz(rng);
    b.insert(b.end(), {cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2});
    s.push_back(u(rng));
    k.push_back(static_cast<int64_t>(rng() % 10));
  }
  return {Tensor::from_vector(b, {n, 4}), Tensor::from_vector(s, {n}), Tensor::from_vector(k, {n})};
}

void BM_NmsCpu(benchmark::State& st) {
  BoxSet x = make_boxes(st.range(0), 1);
  int64_t kept = 0;
  for (auto _ : st) kept = nms(x.boxes, x.scores, 0.5).numel();
  st.counters["kept"] = static_cast<double>(kept);
  st.counters["boxes/s"] = benchmark::Counter(static_cast<double>(st.range(0)),
                                              benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_NmsCpu)
    ->Arg(4000)
    ->Arg(20000)
    ->ComputeStatistics("min", min_of)
    ->MeasureProcessCPUTime()
    ->Unit(benchmark::kMillisecond);

void BM_BatchedNmsCpu(benchmark::State& st) {
  BoxSet x = make_boxes(st.range(0), 2);
  int64_t kept = 0;
  for (auto _ : st) kept = batched_nms(x.boxes, x.scores, x.idxs, 0.5).numel();
  st.counters["kept"] = static_cast<double>(kept);
}
BENCHMARK(BM_BatchedNmsCpu)
    ->Arg(4000)
    ->Arg(20000)
    ->ComputeStatistics("min", min_of)
    ->MeasureProcessCPUTime()
    ->Unit(benchmark::kMillisecond);

void BM_BoxIouCpu(benchmark::State& st) {
  BoxSet a = make_boxes(st.range(0), 3), b = make_boxes(st.range(0), 4);
  for (auto _ : st) benchmark::DoNotOptimize(box_iou(a.boxes, b.boxes).data_ptr());
  st.counters["pairs/s"] = benchmark::Counter(static_cast<double>(st.range(0) * st.range(0)),
                                              benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_BoxIouCpu)
    ->Arg(1000)
    ->ComputeStatistics("min", min_of)
    ->MeasureProcessCPUTime()
    ->Unit(benchmark::kMicrosecond);

void BM_GeneralizedBoxIouFwdBwdCpu(benchmark::State& st) {
  BoxSet a = make_boxes(st.range(0), 5), b = make_boxes(st.range(0), 6);
  a.boxes.set_requires_grad(true);
  b.boxes.set_requires_grad(true);
  Tensor g = Tensor::ones({st.range(0), st.range(0)});
  for (auto _ : st) {
    generalized_box_iou(a.boxes, b.boxes).backward(g);
    benchmark::DoNotOptimize(a.boxes.grad().data_ptr());
    a.boxes.set_grad(Tensor());
    b.boxes.set_grad(Tensor());
  }
  st.counters["pairs/s"] = benchmark::Counter(static_cast<double>(st.range(0) * st.range(0)),
                                              benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_GeneralizedBoxIouFwdBwdCpu)
    ->Arg(1000)
    ->ComputeStatistics("min", min_of)
    ->MeasureProcessCPUTime()
    ->Unit(benchmark::kMicrosecond);

#ifdef DETFORGE_WITH_CUDA
// CUDA: wall time per call including the kept-count sync (nms) or a stream sync (box_iou).
void BM_NmsCUDA(benchmark::State& st) {
  if (!cuda_available()) {
    st.SkipWithError("no CUDA device");
    return;
  }
  Device d = cuda_device(0);
  BoxSet x = make_boxes(st.range(0), 1);
  Tensor b = x.boxes.to(d), s = x.scores.to(d), k = x.idxs.to(d);
  int64_t kept = 0;
  for (auto _ : st) kept = (st.range(1) ? batched_nms(b, s, k, 0.5) : nms(b, s, 0.5)).numel();
  st.counters["kept"] = static_cast<double>(kept);
}
BENCHMARK(BM_NmsCUDA)
    ->Args({4000, 0})
    ->Args({20000, 0})
    ->Args({20000, 1})
    ->Unit(benchmark::kMicrosecond);

void BM_BoxIouCUDA(benchmark::State& st) {
  if (!cuda_available()) {
    st.SkipWithError("no CUDA device");
    return;
  }
  Device d = cuda_device(0);
  Tensor a = make_boxes(st.range(0), 3).boxes.to(d), b = make_boxes(st.range(0), 4).boxes.to(d);
  for (auto _ : st) {
    benchmark::DoNotOptimize(box_iou(a, b).data_ptr());
    DF_CUDA_CHECK(cudaStreamSynchronize(cuda::current_stream(0)));
  }
  st.counters["pairs/s"] = benchmark::Counter(static_cast<double>(st.range(0) * st.range(0)),
                                              benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_BoxIouCUDA)->Arg(1000)->Arg(4000)->Unit(benchmark::kMicrosecond);
#endif

}  // namespace
}  // namespace detforge

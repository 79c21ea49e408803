// Detection training utilities on RetinaNet-sized inputs (an 800x1216 batch: P3-P7, 9 anchors per
// location, 182403 anchors): anchor generation without the cache, the Matcher on a [20, anchors]
// IoU matrix, BoxCoder encode / decode. GB/s of operands read + written.
#include <benchmark/benchmark.h>

#include "autograd/box_coder.h"
#include "autograd/elementwise.h"
#include "autograd/indexing.h"
#include "detection/anchor_generator.h"
#include "detection/atss_assigner.h"
#include "detection/matcher.h"

namespace detforge::detection {
namespace {

const std::vector<Size2> kFeatures{{100, 152}, {50, 76}, {25, 38}, {13, 19}, {7, 10}};

Tensor uniform(const Shape& shape, float lo, float hi, uint64_t seed) {
  std::vector<float> v(static_cast<size_t>(shape_numel(shape)));
  uint64_t s = seed;
  for (auto& x : v) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    x = lo + static_cast<float>((s >> 40) * (1.0 / 16777216.0)) * (hi - lo);
  }
  return Tensor::from_vector(v, shape);
}

void BM_AnchorGeneratorUncached(benchmark::State& st) {
  AnchorGenerator gen = AnchorGenerator::retinanet_default();
  int64_t n = 0;
  for (auto _ : st) {
    gen.clear_cache();
    Tensor a = gen({800, 1216}, kFeatures);
    n = a.size(0);
    benchmark::DoNotOptimize(a.data_ptr());
  }
  st.counters["anchors"] = static_cast<double>(n);
  st.counters["GB/s"] = benchmark::Counter(16.0 * n, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_AnchorGeneratorUncached)->Unit(benchmark::kMillisecond)->UseRealTime();

// args: M, low-quality matches (0/1)
void BM_Matcher(benchmark::State& st) {
  const int64_t M = st.range(0), N = 182403;
  Tensor iou = uniform({M, N}, 0, 0.8f, 7);
  Matcher m(0.5, 0.4, st.range(1) != 0);
  for (auto _ : st) benchmark::DoNotOptimize(m(iou).data_ptr());
  st.counters["GB/s"] = benchmark::Counter(4.0 * M * N * (st.range(1) ? 2 : 1) + 8.0 * N,
                                           benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_Matcher)->Args({20, 1})->Args({20, 0})->Unit(benchmark::kMillisecond)->UseRealTime();

// ATSS for one image: args M ground truths. Anchors: one per location on the COCO-size pyramid
// above (20,267 anchors, 5 levels), sizes 8 x stride; gts of 16-300 px anywhere in the image.
void BM_AtssAssign(benchmark::State& st) {
  const int64_t M = st.range(0);
  AnchorGenerator gen({{32}, {64}, {128}, {256}, {512}}, {{1.0}});
  Tensor a = gen({800, 1216}, kFeatures);
  std::vector<int64_t> per_level;
  for (const Size2& f : kFeatures) per_level.push_back(f[0] * f[1]);
  Tensor xy = uniform({M, 2}, 0, 900, 5), wh = uniform({M, 2}, 16, 300, 6);
  Tensor gt = cat({xy, add(xy, wh)}, 1);
  for (auto _ : st) benchmark::DoNotOptimize(atss_assign(gt, a, per_level, 9).data_ptr());
  st.SetLabel(std::to_string(a.size(0)) + " anchors");
}
BENCHMARK(BM_AtssAssign)->Arg(5)->Arg(50)->Unit(benchmark::kMillisecond)->UseRealTime();

// encode: (anchors, anchors shifted) -> targets; decode: (codes, anchors) -> boxes.
void BM_BoxCoder(benchmark::State& st) {
  Tensor a = AnchorGenerator::retinanet_default()({800, 1216}, kFeatures);
  const int64_t N = a.size(0);
  Tensor codes = uniform({N, 4}, -1, 1, 3);
  Tensor gt = box_coder_decode(codes, a, {1, 1, 1, 1});
  const bool decode = st.range(0) != 0;
  for (auto _ : st) {
    Tensor r =
        decode ? box_coder_decode(codes, a, {1, 1, 1, 1}) : box_coder_encode(gt, a, {1, 1, 1, 1});
    benchmark::DoNotOptimize(r.data_ptr());
  }
  st.counters["GB/s"] =
      benchmark::Counter(3.0 * 16 * N, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_BoxCoder)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace detforge::detection

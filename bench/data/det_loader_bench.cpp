// Detection input pipeline throughput: the fused resize + flip + normalise kernel alone, and the
// DetLoader (batch 8, 1-2 workers) on pre-decoded in-memory images (decoding excluded: that is
// data/image_io's cost). Counters: images/s (items_per_second) and output GB/s.
#include <benchmark/benchmark.h>

#include <random>

#include "data/det_loader.h"

namespace detforge {
namespace {

Tensor random_u8_image(int64_t h, int64_t w, uint64_t seed) {
  Tensor t = Tensor::empty({h, w, 3}, DType::u8);
  std::mt19937_64 g(seed);
  uint8_t* p = t.data<uint8_t>();
  const int64_t n = t.numel();
  for (int64_t i = 0; i < n; ++i) p[i] = static_cast<uint8_t>(g());
  return t;
}

// Args: input h, w, resize short, long.
void BM_ResizeNormalize(benchmark::State& st) {
  const int64_t h = st.range(0), w = st.range(1);
  const data::ResizeSize size{st.range(2), st.range(3)};
  const Tensor img = random_u8_image(h, w, 1);
  const auto hw = data::keep_ratio_size(h, w, size);
  Tensor out = Tensor::empty({3, hw[0], hw[1]});
  bool flip = false;
  for (auto _ : st) {
    data::resize_flip_normalize_u8(img.data<uint8_t>(), h, w, 3, out.data<float>(), hw[0], hw[1],
                                   hw[1], hw[0] * hw[1], flip, data::Normalize());
    flip = !flip;
    benchmark::ClobberMemory();
  }
  st.SetItemsProcessed(st.iterations());
  st.SetBytesProcessed(st.iterations() * (h * w * 3 + out.numel() * 4));
  st.SetLabel(std::to_string(h) + "x" + std::to_string(w) + " -> " + std::to_string(hw[0]) + "x" +
              std::to_string(hw[1]));
}
BENCHMARK(BM_ResizeNormalize)
    ->Args({128, 128, 128, 128})
    ->Args({480, 640, 800, 1333})
    ->Args({427, 640, 800, 1333})
    ->Unit(benchmark::kMicrosecond);

// Args: input side (square-ish images of h x w), resize short, long, workers.
void BM_DetLoader(benchmark::State& st) {
  const int64_t h = st.range(0), w = st.range(1);
  constexpr int kImages = 32;
  std::vector<data::DetRecord> recs(kImages);
  std::vector<Tensor> images;
  for (int i = 0; i < kImages; ++i) {
    recs[i].image = {i, "img" + std::to_string(i), w, h};
    recs[i].boxes = {{1, 2, 30, 40}, {5, 5, 10, 10}};
    recs[i].labels = {1, 2};
    images.push_back(random_u8_image(h, w, i));
  }
  data::DetLoaderConfig cfg;
  cfg.batch_size = 8;
  cfg.train_sizes = {{st.range(2), st.range(3)}};
  cfg.num_workers = static_cast<int>(st.range(4));
  cfg.prefetch_batches = 4;
  data::DetLoader loader(
      recs, [&](const data::CocoImage& im) { return images[im.id]; }, cfg);
  int64_t epoch = 0, imgs = 0, bytes = 0;
  loader.start(epoch);
  for (auto _ : st) {
    auto b = loader.next();
    if (!b) {
      loader.start(++epoch);
      b = loader.next();
    }
    imgs += b->size();
    bytes += static_cast<int64_t>(b->images.nbytes());
  }
  st.SetItemsProcessed(imgs);
  st.SetBytesProcessed(bytes);
}
BENCHMARK(BM_DetLoader)
    ->Args({128, 128, 128, 128, 1})
    ->Args({128, 128, 128, 128, 2})
    ->Args({480, 640, 800, 1333, 1})
    ->Args({480, 640, 800, 1333, 2})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace detforge

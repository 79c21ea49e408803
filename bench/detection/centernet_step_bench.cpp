// One CenterNet training step on CPU (the paper's ResNet variant: ResNet-18 + three up-convolution
// stages 256/128/64, head_conv 64, 80 classes), 128x128 inputs, batch 8, 3 boxes per image:
// zero_grad, forward (targets built inside), backward, AdamW step. Images/s. Also the target
// builder and the decoder alone (per batch).
#include <benchmark/benchmark.h>

#include "autograd/grad_mode.h"
#include "detection/centernet.h"
#include "nn/optim/adamw.h"
#include "tensor/random.h"

namespace detforge::detection {
namespace {

std::vector<data::DetTarget> make_targets(int64_t B, int64_t size) {
  std::vector<data::DetTarget> t(static_cast<size_t>(B));
  uint64_t s = 9;
  auto u = [&s](float lo, float hi) {
    s = s * 6364136223846793005ULL + 1442695040888963407ULL;
    return lo + static_cast<float>((s >> 40) * (1.0 / 16777216.0)) * (hi - lo);
  };
  for (auto& tg : t) {
    std::vector<float> b;
    std::vector<int64_t> l;
    for (int k = 0; k < 3; ++k) {
      float x1 = u(0, size * 0.6f), y1 = u(0, size * 0.6f);
      b.insert(b.end(), {x1, y1, x1 + u(8, size * 0.4f), y1 + u(8, size * 0.4f)});
      l.push_back(1 + static_cast<int64_t>(u(0, 79.99f)));
    }
    tg.boxes = Tensor::from_vector(b, {3, 4});
    tg.labels = Tensor::from_vector(l, {3});
  }
  return t;
}

nlohmann::json config() {
  return {{"type", "centernet"}, {"backbone", {{"type", "resnet18"}}}, {"num_classes", 80}};
}

void BM_CenterNetTrainStep(benchmark::State& st) {
  const int64_t B = 8, S = 128;
  manual_seed(1);
  auto det = build_detector(config());
  det->train();
  Generator g(2);
  Tensor images = randn({B, 3, S, S}, g);
  auto targets = make_targets(B, S);
  ImageSizes sizes(static_cast<size_t>(B), {S, S});
  nn::ParamGroup pg;
  pg.params = det->parameters();
  pg.lr = 1.25e-4;
  nn::AdamW opt({pg});
  for (auto _ : st) {
    det->zero_grad();
    Tensor loss = total_loss(det->forward_train(images, sizes, targets));
    loss.backward();
    opt.step();
    benchmark::DoNotOptimize(loss.data_ptr());
  }
  st.counters["img/s"] =
      benchmark::Counter(static_cast<double>(B), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_CenterNetTrainStep)->Unit(benchmark::kMillisecond)->UseRealTime()->MinTime(5.0);

void BM_CenterNetTargets(benchmark::State& st) {
  const int64_t B = 8, S = st.range(0);
  auto targets = make_targets(B, S);
  CenterNetTargetOptions o;
  for (auto _ : st)
    benchmark::DoNotOptimize(build_centernet_targets(targets, S / 4, S / 4, o).heatmap.data_ptr());
}
BENCHMARK(BM_CenterNetTargets)->Arg(128)->Arg(512)->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_CenterNetDecode(benchmark::State& st) {
  const int64_t B = 8, H = st.range(0) / 4;
  Generator g(4);
  Tensor hm = randn({B, 80, H, H}, g), wh = rand({B, 2, H, H}, g), off = rand({B, 2, H, H}, g);
  ImageSizes sizes(static_cast<size_t>(B), {st.range(0), st.range(0)});
  for (auto _ : st)
    benchmark::DoNotOptimize(centernet_decode(hm, wh, off, sizes, 100, 0.0, 4).data());
}
BENCHMARK(BM_CenterNetDecode)->Arg(128)->Arg(512)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace detforge::detection

// One RetinaNet training step (forward, torchvision's losses, backward, SGD momentum 0.9):
// ResNet-18 body (train-mode BatchNorm), FPN 256 P3-P7, head for 80 classes, default anchors (9 per
// location), batch 8 x 3 x 128 x 128 with 3 boxes per image. Compared with
// bench/compare/retinanet_step_torch_cpu.py (docs/perf/retinanet-step-2026-11-21.md).
#include <benchmark/benchmark.h>

#include "detection/retinanet.h"
#include "nn/optim/sgd.h"
#include "tensor/random.h"

namespace detforge {
namespace {

void run_steps(benchmark::State& st, Device dev) {
  const int64_t batch = st.range(0), size = st.range(1);
  nlohmann::json cfg = {
      {"type", "retinanet"}, {"num_classes", 80}, {"backbone", {{"type", "resnet18"}}}};
  auto model = std::dynamic_pointer_cast<detection::RetinaNet>(detection::build_detector(cfg));
  model->to(dev);
  model->train();
  Generator gen(1);
  Tensor images = randn({batch, 3, size, size}, gen, DType::f32, dev);
  std::vector<data::DetTarget> targets(static_cast<size_t>(batch));
  detection::ImageSizes sizes;
  const float s = static_cast<float>(size);
  for (int64_t i = 0; i < batch; ++i) {
    const float o = static_cast<float>(i % 4) * 0.05f * s;
    targets[i].boxes =
        Tensor::from_vector<float>({o, o, o + 0.4f * s, o + 0.5f * s, 0.5f * s, 0.1f * s, 0.9f * s,
                                    0.6f * s, 0.2f * s, 0.6f * s, 0.35f * s, 0.8f * s},
                                   {3, 4});
    targets[i].labels = Tensor::from_vector<int64_t>({1 + i % 80, 7, 42}, {3});
    sizes.push_back({size, size});
  }
  nn::ParamGroup g;
  g.params = model->parameters();
  g.lr = 0.01;
  g.momentum = 0.9;
  nn::SGD opt({g});
  for (auto _ : st) {
    opt.zero_grad();
    Tensor loss = detection::total_loss(model->forward_train(images, sizes, targets));
    loss.backward();
    opt.step();
    benchmark::DoNotOptimize(loss.item());  // item() syncs, so CUDA time is complete
  }
  st.counters["img/s"] =
      benchmark::Counter(static_cast<double>(batch), benchmark::Counter::kIsIterationInvariantRate);
}

void BM_RetinaNetStep_CPU(benchmark::State& st) {
  run_steps(st, kCPU);
}
BENCHMARK(BM_RetinaNetStep_CPU)->Args({8, 128})->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_RetinaNetStep_CUDA(benchmark::State& st) {
  if (!cuda_available()) {
    st.SkipWithError("no usable GPU");
    return;
  }
  run_steps(st, cuda_device(0));
}
BENCHMARK(BM_RetinaNetStep_CUDA)
    ->Args({8, 128})
    ->Args({16, 512})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace detforge

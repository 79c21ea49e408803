// One Faster R-CNN training step (ResNet-18 body with BatchNorm in train mode, FPN 256 with
// max-pool extra, torchvision's default RPN / RoI settings, 90 classes; forward, the four losses,
// backward, SGD) on a batch of 8 x 3 x 128 x 128 with 3 boxes per image, CPU. Compared with
// bench/compare/faster_rcnn_step_torch_cpu.py (docs/perf/faster-rcnn-step-2026-11-21.md).
#include <benchmark/benchmark.h>

#include <nlohmann/json.hpp>

#include "detection/faster_rcnn.h"
#include "nn/optim/sgd.h"
#include "tensor/random.h"

namespace detforge {
namespace {

void BM_FasterRCNNStep_CPU(benchmark::State& st) {
  const int64_t batch = st.range(0), size = st.range(1);
  auto model = detection::build_detector(nlohmann::json::parse(
      R"({"type": "faster_rcnn", "num_classes": 90, "backbone": {"type": "resnet18"}})"));
  model->train();
  std::vector<nn::ParamGroup> groups(1);
  for (const auto& p : model->named_parameters()) groups[0].params.push_back(p.second);
  groups[0].lr = 0.001;
  groups[0].momentum = 0.9;
  nn::SGD opt(groups);
  Generator gen(1);
  Tensor x = randn({batch, 3, size, size}, gen);
  detection::ImageSizes sizes(static_cast<size_t>(batch), {size, size});
  std::vector<data::DetTarget> targets(static_cast<size_t>(batch));
  for (int64_t i = 0; i < batch; ++i) {
    const float o = static_cast<float>(4 * (i % 5));
    targets[i].boxes = Tensor::from_vector<float>(
        {8 + o, 10, 60 + o, 70, 50, 40 + o, 120, 110, 20, 80, 50 + o, 120}, {3, 4});
    targets[i].labels = Tensor::from_vector<int64_t>({1 + i % 90, 7, 42}, {3});
  }
  for (auto _ : st) {
    Tensor loss = detection::total_loss(model->forward_train(x, sizes, targets));
    opt.zero_grad();
    loss.backward();
    opt.step();
    benchmark::DoNotOptimize(loss.item());
  }
  st.counters["img/s"] =
      benchmark::Counter(static_cast<double>(batch), benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_FasterRCNNStep_CPU)->Args({8, 128})->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace detforge

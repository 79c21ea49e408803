// One training step (forward, cross-entropy, backward, SGD) of the ResNet-18-shaped stack of engine
// ops, batch 8 x 3 x 128 x 128: the figure compared with bench/compare/resnet_step_torch_cpu.py.
#include <benchmark/benchmark.h>

#include "autograd/loss.h"
#include "nn/functional_resnet.h"
#include "tensor/random.h"

namespace detforge {
namespace {

void run_steps(benchmark::State& st, Device dev) {
  int64_t batch = st.range(0), size = st.range(1);
  nn::FunctionalResNet net(10, 0, dev);
  Generator gen(1);
  Tensor x = randn({batch, 3, size, size}, gen, DType::f32, dev);
  std::vector<int64_t> labels(static_cast<size_t>(batch));
  for (int64_t i = 0; i < batch; ++i) labels[i] = i % 10;
  Tensor y = Tensor::from_vector(labels, {batch}, dev);
  for (auto _ : st) {
    Tensor loss = cross_entropy(net.forward(x, true), y);
    loss.backward();
    net.sgd_step(0.01);
    benchmark::DoNotOptimize(loss.item());  // item() syncs, so CUDA time is complete
  }
  st.counters["img/s"] = benchmark::Counter(static_cast<double>(batch), benchmark::Counter::kIsIterationInvariantRate);
}

void BM_ResNetStep_CPU(benchmark::State& st) { run_steps(st, kCPU); }
BENCHMARK(BM_ResNetStep_CPU)->Args({8, 128})->Unit(benchmark::kMillisecond)->UseRealTime();

void BM_ResNetStep_CUDA(benchmark::State& st) {
  if (!cuda_available()) {
    st.SkipWithError("no usable GPU");
    return;
  }
  run_steps(st, cuda_device(0));
}
BENCHMARK(BM_ResNetStep_CUDA)->Args({8, 128})->Args({64, 224})->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace
}  // namespace detforge

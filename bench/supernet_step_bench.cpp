// One supernet training step (set_active(random subnet), forward, cross-entropy, backward, SGD with
// momentum) of DetOFA's OFA-ResNet50 supernet (nn::ofa_resnet50), batch 8 x 3 x 128 x 128 on CPU
// and 32 x 3 x 224 x 224 on CUDA. The subnets cycle through the committed list
// configs/bench/ofa_resnet50_subnets.json, which bench/compare/supernet_step_torch_cpu.py (the
// OFA-style PyTorch twin) replays in the same order, so the two figures cover the same work.
#include <benchmark/benchmark.h>

#include <fstream>

#include "autograd/loss.h"
#include "nn/elastic/elastic_resnet.h"
#include "nn/optim/sgd.h"
#include "tensor/random.h"

namespace detforge {
namespace {

std::vector<nn::ArchConfig> subnet_list(int64_t resolution) {
  std::ifstream f(DETFORGE_SOURCE_DIR "/configs/bench/ofa_resnet50_subnets.json");
  if (!f) throw ConfigError("[bench] cannot open configs/bench/ofa_resnet50_subnets.json");
  nlohmann::json j = nlohmann::json::parse(f);
  std::vector<nn::ArchConfig> out;
  for (const auto& c : j) {
    nn::ArchConfig cfg = nn::arch_config_from_json(c);
    cfg.input_resolution = resolution;
    out.push_back(cfg);
  }
  return out;
}

void run_steps(benchmark::State& st, Device dev) {
  const int64_t batch = st.range(0), size = st.range(1);
  auto net = nn::ofa_resnet50(1000);
  net->to(dev);
  net->train();
  std::vector<nn::ArchConfig> cfgs = subnet_list(size);
  nn::ParamGroup g;
  g.params = net->parameters();
  g.lr = 0.01;
  g.momentum = 0.9;
  nn::SGD opt({g});
  Generator gen(1);
  Tensor x = randn({batch, 3, size, size}, gen, DType::f32, dev);
  Tensor y = randint(0, 1000, {batch}, gen, DType::i64, dev);
  auto step = [&](const nn::ArchConfig& cfg) {
    net->set_active(cfg);
    net->zero_grad();
    Tensor loss = cross_entropy(net->forward(x), y);
    loss.backward();
    opt.step();
    return loss.item();  // syncs, so CUDA time is complete
  };
  for (const auto& cfg : cfgs) step(cfg);  // warm-up: caches, one step per subnet
  size_t i = 0;
  for (auto _ : st) benchmark::DoNotOptimize(step(cfgs[i++ % cfgs.size()]));
  st.counters["img/s"] =
      benchmark::Counter(static_cast<double>(batch), benchmark::Counter::kIsIterationInvariantRate);
}

void BM_SupernetStep_CPU(benchmark::State& st) {
  run_steps(st, kCPU);
}
// 24 iterations = three passes over the 8 subnets, as the PyTorch twin times them.
BENCHMARK(BM_SupernetStep_CPU)
    ->Args({8, 128})
    ->Iterations(24)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

void BM_SupernetStep_CUDA(benchmark::State& st) {
  if (!cuda_available()) {
    st.SkipWithError("no usable GPU");
    return;
  }
  run_steps(st, cuda_device(0));
}
BENCHMARK(BM_SupernetStep_CUDA)
    ->Args({32, 224})
    ->Iterations(24)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

}  // namespace
}  // namespace detforge

// Fused optimizer steps over a ResNet-18-shaped parameter list (62 tensors, 11.69M params), with
// the BN-sparsity subgradient on the BN gammas. GB/s counts the bytes each step must read and
// write: SGD-momentum reads p, g, buf and writes p, buf (20 B/param); AdamW reads p, g, m, v and
// writes p, m, v (28 B/param). CPU and CUDA (CUDA timed with events; skipped without a GPU).
#include <benchmark/benchmark.h>

#include <memory>

#include "nn/optim/adamw.h"
#include "nn/optim/sgd.h"
#include "tensor/stream.h"

namespace detforge {
namespace {

std::vector<Shape> resnet18_shapes() {
  std::vector<Shape> s = {{64, 3, 7, 7}, {64}, {64}};
  int64_t in = 64;
  const int64_t widths[4] = {64, 128, 256, 512};
  for (int stage = 0; stage < 4; ++stage) {
    int64_t w = widths[stage];
    for (int b = 0; b < 2; ++b) {
      int64_t cin = b == 0 ? in : w;
      s.insert(s.end(), {{w, cin, 3, 3}, {w}, {w}, {w, w, 3, 3}, {w}, {w}});
      if (b == 0 && (cin != w)) s.insert(s.end(), {{w, cin, 1, 1}, {w}, {w}});
    }
    in = w;
  }
  s.insert(s.end(), {{1000, 512}, {1000}});
  return s;  // 62 tensors
}

void run(benchmark::State& st, bool adamw, Device dev) {
  if (dev.is_cuda() && !cuda_available()) {
    st.SkipWithError("no CUDA device");
    return;
  }
  nn::ParamGroup g;
  g.lr = 0.01;
  g.momentum = 0.9;
  g.weight_decay = 1e-4;
  g.bn_sparsity_lambda = 1e-5;
  int64_t total = 0;
  for (const Shape& sh : resnet18_shapes()) {
    Tensor p = Tensor::full(sh, 0.5, DType::f32, dev);
    p.set_grad(Tensor::full(sh, 0.01, DType::f32, dev));
    g.bn_sparsity_mask.push_back(sh.size() == 1);
    g.params.push_back(p);
    total += p.numel();
  }
  std::unique_ptr<nn::Optimizer> opt;
  if (adamw)
    opt = std::make_unique<nn::AdamW>(std::vector<nn::ParamGroup>{g});
  else
    opt = std::make_unique<nn::SGD>(std::vector<nn::ParamGroup>{g});
  opt->step();  // creates the state
  if (dev.is_cuda()) {
    Event a(dev), b(dev);
    for (auto _ : st) {
      a.record();
      opt->step();
      b.record();
      b.synchronize();
      st.SetIterationTime(a.elapsed_ms(b) / 1e3);
    }
  } else {
    for (auto _ : st) opt->step();
  }
  st.counters["params"] = static_cast<double>(total);
  st.counters["tensors"] = static_cast<double>(g.params.size());
  double bytes = (adamw ? 28.0 : 20.0) * static_cast<double>(total);
  st.counters["GB/s"] = benchmark::Counter(bytes, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_SgdMomentumStep_CPU(benchmark::State& st) {
  run(st, false, kCPU);
}
void BM_AdamWStep_CPU(benchmark::State& st) {
  run(st, true, kCPU);
}
void BM_SgdMomentumStep_CUDA(benchmark::State& st) {
  run(st, false, cuda_device(0));
}
void BM_AdamWStep_CUDA(benchmark::State& st) {
  run(st, true, cuda_device(0));
}
BENCHMARK(BM_SgdMomentumStep_CPU)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_AdamWStep_CPU)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_SgdMomentumStep_CUDA)->Unit(benchmark::kMillisecond)->UseManualTime();
BENCHMARK(BM_AdamWStep_CUDA)->Unit(benchmark::kMillisecond)->UseManualTime();

}  // namespace
}  // namespace detforge

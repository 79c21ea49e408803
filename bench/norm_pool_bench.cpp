// Normalisation and pooling throughput on the CPU. GB/s counts the algorithmic minimum traffic
// (every tensor read or written once), so it compares directly with a copy's bandwidth.
#include <benchmark/benchmark.h>

#include <random>

#ifdef DETFORGE_WITH_CUDA
#include "tensor/cuda/cuda_check.h"
#endif

#include "autograd/grad_mode.h"
#include "autograd/norm_pool.h"

namespace detforge {
namespace {

Tensor random_tensor(const Shape& shape, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> d;
  std::vector<float> v(static_cast<size_t>(shape_numel(shape)));
  for (auto& x : v) x = d(rng);
  return Tensor::from_vector(v, shape);
}

// Training forward + backward: forward reads x, writes y; backward reads x and dy, writes dx.
void BM_BatchNormTrainFwdBwd(benchmark::State& st) {
  Shape shape{st.range(0), st.range(1), st.range(2), st.range(2)};
  const int64_t C = shape[1], n = shape_numel(shape);
  Tensor x = random_tensor(shape, 1).set_requires_grad(true);
  Tensor w = random_tensor({C}, 2).set_requires_grad(true),
         b = random_tensor({C}, 3).set_requires_grad(true);
  Tensor rm = Tensor::zeros({C}), rv = Tensor::ones({C});
  Tensor g = random_tensor(shape, 4);
  for (auto _ : st) {
    Tensor y = batch_norm(x, rm, rv, w, b, true, 0.1, 1e-5);
    y.backward(g);
    benchmark::DoNotOptimize(x.grad().data_ptr());
    x.set_grad(Tensor());
    w.set_grad(Tensor());
    b.set_grad(Tensor());
  }
  st.counters["GB/s"] =
      benchmark::Counter(5.0 * n * 4, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_BatchNormTrainFwdBwd)
    ->Args({8, 64, 32})
    ->Args({8, 256, 8})
    ->Unit(benchmark::kMicrosecond);

void BM_BatchNormTrainFwd(benchmark::State& st) {
  Shape shape{st.range(0), st.range(1), st.range(2), st.range(2)};
  const int64_t C = shape[1], n = shape_numel(shape);
  Tensor x = random_tensor(shape, 1);
  Tensor rm = Tensor::zeros({C}), rv = Tensor::ones({C});
  NoGradGuard ng;
  for (auto _ : st)
    benchmark::DoNotOptimize(batch_norm(x, rm, rv, Tensor(), Tensor(), true, 0.1, 1e-5));
  st.counters["GB/s"] =
      benchmark::Counter(2.0 * n * 4, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_BatchNormTrainFwd)
    ->Args({8, 64, 32})
    ->Args({8, 256, 8})
    ->Unit(benchmark::kMicrosecond);

// 3x3 stride-2 max pool, forward (reads x, writes y and int64 indices) and forward + backward.
void BM_MaxPool3x3s2(benchmark::State& st) {
  Shape shape{8, st.range(0), st.range(1), st.range(1)};
  Tensor x = random_tensor(shape, 5);
  NoGradGuard ng;
  int64_t out_n = 0;
  for (auto _ : st) {
    Tensor y = max_pool2d(x, {3}, {2}, {1});
    out_n = y.numel();
    benchmark::DoNotOptimize(y.data_ptr());
  }
  st.counters["GB/s"] = benchmark::Counter(shape_numel(shape) * 4.0 + out_n * 12.0,
                                           benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_MaxPool3x3s2)->Args({64, 32})->Args({256, 16})->Unit(benchmark::kMicrosecond);

void BM_MaxPool3x3s2FwdBwd(benchmark::State& st) {
  Shape shape{8, st.range(0), st.range(1), st.range(1)};
  Tensor x = random_tensor(shape, 5).set_requires_grad(true);
  int64_t out_n = 0;
  for (auto _ : st) {
    Tensor y = max_pool2d(x, {3}, {2}, {1});
    out_n = y.numel();
    y.backward(Tensor::ones(y.shape()));
    benchmark::DoNotOptimize(x.grad().data_ptr());
    x.set_grad(Tensor());
  }
  // forward x, y, idx; backward dy, idx, dx.
  st.counters["GB/s"] = benchmark::Counter(shape_numel(shape) * 8.0 + out_n * 24.0,
                                           benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_MaxPool3x3s2FwdBwd)->Args({64, 32})->Unit(benchmark::kMicrosecond);

#ifdef DETFORGE_WITH_CUDA
// CUDA: batch-norm training forward + backward, timed with a stream sync per iteration.
void BM_BatchNormTrainFwdBwdCuda(benchmark::State& st) {
  if (!cuda_available()) {
    st.SkipWithError("no CUDA device");
    return;
  }
  Shape shape{st.range(0), st.range(1), st.range(2), st.range(2)};
  const int64_t C = shape[1], n = shape_numel(shape);
  Device dev = cuda_device(0);
  Tensor x = random_tensor(shape, 1).to(dev).set_requires_grad(true);
  Tensor w = random_tensor({C}, 2).to(dev).set_requires_grad(true);
  Tensor b = random_tensor({C}, 3).to(dev).set_requires_grad(true);
  Tensor rm = Tensor::zeros({C}, DType::f32, dev), rv = Tensor::ones({C}, DType::f32, dev);
  Tensor g = random_tensor(shape, 4).to(dev);
  for (auto _ : st) {
    Tensor y = batch_norm(x, rm, rv, w, b, true, 0.1, 1e-5);
    y.backward(g);
    x.set_grad(Tensor());
    w.set_grad(Tensor());
    b.set_grad(Tensor());
    DF_CUDA_CHECK(cudaStreamSynchronize(cuda::current_stream(0)));
  }
  st.counters["GB/s"] =
      benchmark::Counter(5.0 * n * 4, benchmark::Counter::kIsIterationInvariantRate);
}
BENCHMARK(BM_BatchNormTrainFwdBwdCuda)
    ->Args({8, 64, 32})
    ->Args({8, 256, 8})
    ->Unit(benchmark::kMicrosecond);
#endif

}  // namespace
}  // namespace detforge

// Elementwise and reduction throughput (GB/s of bytes read + written) against a plain copy of the
// same bytes. Target: >= 70% of BM_Copy for 4M+ floats.
#include <benchmark/benchmark.h>

#include "autograd/elementwise.h"
#include "autograd/reduction.h"
#include "kernels/elementwise/binary.h"
#include "kernels/elementwise/unary.h"
#include "tensor/view_ops.h"

namespace detforge {
namespace {

Tensor rnd(const Shape& s) {
  Tensor t = Tensor::empty(s);
  float* p = static_cast<float*>(t.data_ptr());
  uint32_t x = 12345;
  for (int64_t i = 0; i < t.numel(); ++i) {
    x = x * 1664525u + 1013904223u;
    p[i] = static_cast<float>(x >> 8) / 16777216.0f * 4.0f - 2.0f;
  }
  return t;
}

void set_bytes(benchmark::State& st, double bytes) {
  st.counters["GB/s"] = benchmark::Counter(bytes, benchmark::Counter::kIsIterationInvariantRate);
}

void BM_Copy(benchmark::State& st) {
  int64_t n = st.range(0);
  Tensor a = Tensor::full({n}, 1.5f), b = Tensor::empty({n});
  for (auto _ : st) raw::copy(b, a);
  set_bytes(st, 2.0 * n * 4);
}
BENCHMARK(BM_Copy)->Arg(1 << 14)->Arg(1 << 22)->Arg(1 << 24)->UseRealTime();

void BM_Add(benchmark::State& st) {
  int64_t n = st.range(0);
  Tensor a = Tensor::full({n}, 1.5f), b = Tensor::full({n}, 2.5f);
  for (auto _ : st) benchmark::DoNotOptimize(add(a, b));
  set_bytes(st, 3.0 * n * 4);
}
BENCHMARK(BM_Add)->Arg(1 << 14)->Arg(1 << 22)->Arg(1 << 24)->UseRealTime();

// The loops alone: outputs preallocated (the functional ops above also pay for a fresh output,
// i.e. first-touch page faults of a large allocation, as PyTorch does).
void BM_AddInto(benchmark::State& st) {
  int64_t n = st.range(0);
  Tensor a = rnd({n}), b = rnd({n}), o = Tensor::empty({n});
  auto fn = kernels::binary_stub(kCPU, "add");
  for (auto _ : st) fn(kernels::BinaryOp::add, o, a, b, {});
  set_bytes(st, 3.0 * n * 4);
}
BENCHMARK(BM_AddInto)->Arg(1 << 22)->Arg(1 << 24)->UseRealTime();

void BM_SigmoidInto(benchmark::State& st) {
  int64_t n = st.range(0);
  Tensor a = rnd({n}), o = Tensor::empty({n});
  auto fn = kernels::unary_stub(kCPU, "sigmoid");
  for (auto _ : st) fn(kernels::UnaryOp::sigmoid, o, a, {});
  set_bytes(st, 2.0 * n * 4);
}
BENCHMARK(BM_SigmoidInto)->Arg(1 << 22)->UseRealTime();

// [N, C] + [C]: the broadcast operand stays in cache; bytes = read a + write out.
void BM_AddBroadcast(benchmark::State& st) {
  int64_t n = st.range(0), c = 1024;
  Tensor a = rnd({n / c, c}), b = rnd({c});
  for (auto _ : st) benchmark::DoNotOptimize(add(a, b));
  set_bytes(st, 2.0 * n * 4);
}
BENCHMARK(BM_AddBroadcast)->Arg(1 << 22)->UseRealTime();

// Unary ops with a fresh output per call. 16K floats run in one chunk on one thread (under the
// parallel grain): the serial copy of the loop, which must vectorise too.
template <class F>
void unary_op(benchmark::State& st, F f, float offset = 0.f) {
  int64_t n = st.range(0);
  Tensor a = rnd({n});
  if (offset != 0.f) a = add(a, Tensor::full({1}, offset));
  for (auto _ : st) benchmark::DoNotOptimize(f(a));
  set_bytes(st, 2.0 * n * 4);
}
void BM_Sigmoid(benchmark::State& st) {
  unary_op(st, [](const Tensor& a) { return sigmoid(a); });
}
void BM_Gelu(benchmark::State& st) {
  unary_op(st, [](const Tensor& a) { return gelu(a); });
}
void BM_Exp(benchmark::State& st) {
  unary_op(st, [](const Tensor& a) { return exp(a); });
}
void BM_Tanh(benchmark::State& st) {
  unary_op(st, [](const Tensor& a) { return tanh(a); });
}
void BM_Log(benchmark::State& st) {  // inputs in [1, 5]
  unary_op(
      st, [](const Tensor& a) { return log(a); }, 3.f);
}
BENCHMARK(BM_Sigmoid)->Arg(1 << 14)->Arg(1 << 22)->Arg(1 << 24)->UseRealTime();
BENCHMARK(BM_Gelu)->Arg(1 << 14)->Arg(1 << 22)->Arg(1 << 24)->UseRealTime();
BENCHMARK(BM_Exp)->Arg(1 << 14)->Arg(1 << 22)->Arg(1 << 24)->UseRealTime();
BENCHMARK(BM_Tanh)->Arg(1 << 14)->Arg(1 << 22)->Arg(1 << 24)->UseRealTime();
BENCHMARK(BM_Log)->Arg(1 << 14)->Arg(1 << 22)->Arg(1 << 24)->UseRealTime();

void BM_SumLastDim(benchmark::State& st) {
  int64_t n = st.range(0), c = 1024;
  Tensor a = rnd({n / c, c});
  for (auto _ : st) benchmark::DoNotOptimize(sum(a, {-1}));
  set_bytes(st, 1.0 * n * 4);
}
BENCHMARK(BM_SumLastDim)->Arg(1 << 22)->Arg(1 << 24)->UseRealTime();

void BM_SumDim0(benchmark::State& st) {
  int64_t n = st.range(0), c = 1024;
  Tensor a = rnd({n / c, c});
  for (auto _ : st) benchmark::DoNotOptimize(sum(a, {0}));
  set_bytes(st, 1.0 * n * 4);
}
BENCHMARK(BM_SumDim0)->Arg(1 << 22)->Arg(1 << 24)->UseRealTime();

void BM_SumAll(benchmark::State& st) {
  int64_t n = st.range(0);
  Tensor a = rnd({n});
  for (auto _ : st) benchmark::DoNotOptimize(sum(a));
  set_bytes(st, 1.0 * n * 4);
}
BENCHMARK(BM_SumAll)->Arg(1 << 22)->UseRealTime();

void BM_SoftmaxRows(benchmark::State& st) {
  int64_t n = st.range(0), c = 1024;
  Tensor a = rnd({n / c, c});
  for (auto _ : st) benchmark::DoNotOptimize(softmax(a, -1));
  set_bytes(st, 2.0 * n * 4);
}
BENCHMARK(BM_SoftmaxRows)->Arg(1 << 14)->Arg(1 << 22)->Arg(1 << 24)->UseRealTime();

}  // namespace
}  // namespace detforge

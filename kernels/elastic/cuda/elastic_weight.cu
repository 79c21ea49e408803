// CUDA elastic weight gather / scatter: one thread per (out, in) pair, grid-stride. The scatter
// writes distinct weight elements per pair (indices distinct, checked on the host), so it needs no
// atomics for the weight gradient; the matrix gradients (<= 625 + 81 values) are reduced per block
// in shared memory (acc type) and then added to global memory with one atomicAdd per value and
// block. float32 / float64 only (the autograd layer rejects other dtypes).
#include "kernels/elastic/elastic_weight.h"
#include "tensor/cuda/cuda_check.h"
#include "tensor/dtype.h"

namespace detforge::kernels {
namespace {

constexpr int kThreads = 128;

template <class T>
const T* ptr_or_null(const Tensor& t) {
  return t.defined() ? static_cast<const T*>(t.data_ptr()) : nullptr;
}

int blocks_for(int64_t n) {
  return static_cast<int>(std::min<int64_t>((n + kThreads - 1) / kThreads, 4096));
}

template <class T>
__global__ void gather_kernel(ElasticWeightParams p, const T* w, const T* m0, const T* m1, T* out) {
  const int64_t n = p.pairs(), kk = p.k * p.k;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step)
    elastic_gather_pair<T, T>(p, w, m0, m1, i, out + i * kk);
}

template <class T>
__global__ void scatter_kernel(ElasticWeightParams p, const T* w, const T* m0, const T* m1,
                               const T* g, T* gw, T* gm0, T* gm1) {
  __shared__ T s0[625];
  __shared__ T s1[81];
  const bool need_m = gm0 != nullptr || gm1 != nullptr;
  if (need_m) {
    for (int j = threadIdx.x; j < 625; j += blockDim.x) s0[j] = T(0);
    for (int j = threadIdx.x; j < 81; j += blockDim.x) s1[j] = T(0);
    __syncthreads();
  }
  auto add0 = [&](int64_t idx, T v) { atomicAdd(&s0[idx], v); };
  auto add1 = [&](int64_t idx, T v) { atomicAdd(&s1[idx], v); };
  const int64_t n = p.pairs(), kk = p.k * p.k;
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step)
    elastic_scatter_pair<T, T>(p, w, m0, m1, i, g + i * kk, gw, need_m, add0, add1);
  if (!need_m) return;
  __syncthreads();
  if (gm0) {
    const int64_t n0 = p.mat_d[0] * p.mat_d[0] * p.mat_d[0] * p.mat_d[0];
    for (int64_t j = threadIdx.x; j < n0; j += blockDim.x) atomicAdd(&gm0[j], s0[j]);
  }
  if (gm1)
    for (int j = threadIdx.x; j < 81; j += blockDim.x) atomicAdd(&gm1[j], s1[j]);
}

void elastic_gather_cuda(const ElasticWeightParams& p, const Tensor& out, const Tensor& w,
                         const Tensor& m0, const Tensor& m1) {
  const int64_t n = p.pairs();
  if (n == 0) return;
  cudaStream_t stream = cuda::current_stream(w.device().index);
  auto launch = [&](auto tag) {
    using T = decltype(tag);
    gather_kernel<T><<<blocks_for(n), kThreads, 0, stream>>>(p, static_cast<const T*>(w.data_ptr()),
                                                             ptr_or_null<T>(m0), ptr_or_null<T>(m1),
                                                             static_cast<T*>(out.data_ptr()));
    DF_CUDA_KERNEL_CHECK();
  };
  if (w.dtype() == DType::f32)
    launch(float());
  else if (w.dtype() == DType::f64)
    launch(double());
  else
    throw DTypeError(
        str_cat("[elastic_weight] CUDA supports float32/float64, got ", dtype_name(w.dtype())));
}

void elastic_scatter_cuda(const ElasticWeightParams& p, const Tensor& gw, const Tensor& g,
                          const Tensor& w, const Tensor& m0, const Tensor& m1, const Tensor& gm0,
                          const Tensor& gm1) {
  const int64_t n = p.pairs();
  if (n == 0) return;
  cudaStream_t stream = cuda::current_stream(w.device().index);
  auto launch = [&](auto tag) {
    using T = decltype(tag);
    auto mut = [](const Tensor& t) {
      return t.defined() ? static_cast<T*>(t.data_ptr()) : nullptr;
    };
    scatter_kernel<T><<<blocks_for(n), kThreads, 0, stream>>>(
        p, static_cast<const T*>(w.data_ptr()), ptr_or_null<T>(m0), ptr_or_null<T>(m1),
        static_cast<const T*>(g.data_ptr()), static_cast<T*>(gw.data_ptr()), mut(gm0), mut(gm1));
    DF_CUDA_KERNEL_CHECK();
  };
  if (w.dtype() == DType::f32)
    launch(float());
  else if (w.dtype() == DType::f64)
    launch(double());
  else
    throw DTypeError(str_cat("[elastic_weight_backward] CUDA supports float32/float64, got ",
                             dtype_name(w.dtype())));
}

}  // namespace
DF_REGISTER_DISPATCH(elastic_gather_stub, CUDA, &elastic_gather_cuda);
DF_REGISTER_DISPATCH(elastic_scatter_stub, CUDA, &elastic_scatter_cuda);
}  // namespace detforge::kernels

// CUDA element loops, the device twin of kernels/cpu/loops.h: out[i] = f(in_0[i], ...) with the
// same functor (DETFORGE_HD operator()) the CPU path uses. Grid-stride, on the current stream.
#pragma once
#include <array>
#include <utility>

#include "tensor/cuda/cuda_check.h"
#include "tensor/dtype_cast.h"
#include "tensor/strided_index.h"
#include "tensor/tensor.h"

namespace detforge::kernels::cuda {

template <int K>
struct InPtrs {
  const void* p[K > 0 ? K : 1];
};

// __global__ templates may have one trailing pack only, so the input types travel as a TypeList
// and the per-element expansion happens in a __device__ helper.
template <class... Ts>
struct TypeList {};

template <class OutT, class F, class... InTs, size_t... I>
__device__ __forceinline__ OutT apply_at(TypeList<InTs...>, std::index_sequence<I...>, const F& f,
                                         const InPtrs<sizeof...(InTs)>& in, const int64_t* off) {
  return cast_to<OutT>(f(static_cast<acc_t<InTs>>(static_cast<const InTs*>(in.p[I])[off[I]])...));
}

template <class OutT, class... InTs>
__device__ __forceinline__ constexpr std::index_sequence_for<InTs...> seq_of(TypeList<InTs...>) {
  return {};
}

template <class OutT, class List, int K, class F>
__global__ void map_contiguous_kernel(int64_t n, OutT* o, InPtrs<K> in, F f) {
  int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += stride) {
    int64_t off[K > 0 ? K : 1];
    for (int k = 0; k < K; ++k) off[k] = i;
    o[i] = apply_at<OutT>(List{}, seq_of<OutT>(List{}), f, in, off);
  }
}

template <class OutT, class List, int K, class F>
__global__ void map_strided_kernel(int64_t n, StridedIndex<K + 1> idx, OutT* o, InPtrs<K> in, F f) {
  int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += stride) {
    int64_t off[K + 1];
    idx.offsets(i, off);
    o[off[0]] = apply_at<OutT>(List{}, seq_of<OutT>(List{}), f, in, off + 1);
  }
}

template <class OutT, class... InTs, class F, size_t... I>
void map_impl(const Tensor& out, const std::array<Tensor, sizeof...(InTs)>& ins, const F& f,
              std::index_sequence<I...>) {
  constexpr int N = sizeof...(InTs) + 1;
  int64_t n = out.numel();
  if (n == 0) return;
  InPtrs<sizeof...(InTs)> in{};
  ((in.p[I] = ins[I].data_ptr()), ...);
  OutT* o = static_cast<OutT*>(out.data_ptr());
  cudaStream_t stream = detforge::cuda::current_stream(out.device().index);
  int blocks = detforge::cuda::blocks_for(n);
  bool contiguous = out.is_contiguous() && (ins[I].is_contiguous() && ...);
  if (contiguous) {
    map_contiguous_kernel<OutT, TypeList<InTs...>, N - 1>
        <<<blocks, detforge::cuda::kThreads, 0, stream>>>(n, o, in, f);
  } else {
    const std::vector<int64_t> st[N] = {out.strides(), ins[I].strides()...};
    auto idx = make_strided_index<N>(out.shape(), st);
    map_strided_kernel<OutT, TypeList<InTs...>, N - 1>
        <<<blocks, detforge::cuda::kThreads, 0, stream>>>(n, idx, o, in, f);
  }
  DF_CUDA_KERNEL_CHECK();
}

template <class OutT, class... InTs, class F>
void map(const Tensor& out, const std::array<Tensor, sizeof...(InTs)>& ins, const F& f) {
  map_impl<OutT, InTs...>(out, ins, f, std::index_sequence_for<InTs...>{});
}

}  // namespace detforge::kernels::cuda

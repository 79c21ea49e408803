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

// Per-element bodies; the kernel itself has a single template parameter (CUDA forbids several
// parameter packs on a __global__ template).
template <class OutT, class F, class... InTs>
struct ContiguousBody {
  OutT* o;
  InPtrs<sizeof...(InTs)> in;
  F f;
  template <size_t... I>
  __device__ void apply(int64_t i, std::index_sequence<I...>) const {
    o[i] = cast_to<OutT>(f(static_cast<acc_t<InTs>>(static_cast<const InTs*>(in.p[I])[i])...));
  }
  __device__ void operator()(int64_t i) const { apply(i, std::index_sequence_for<InTs...>{}); }
};

template <class OutT, class F, class... InTs>
struct StridedBody {
  StridedIndex<sizeof...(InTs) + 1> idx;
  OutT* o;
  InPtrs<sizeof...(InTs)> in;
  F f;
  template <size_t... I>
  __device__ void apply(int64_t i, std::index_sequence<I...>) const {
    int64_t off[sizeof...(InTs) + 1];
    idx.offsets(i, off);
    o[off[0]] = cast_to<OutT>(f(static_cast<acc_t<InTs>>(static_cast<const InTs*>(in.p[I])[off[I + 1]])...));
  }
  __device__ void operator()(int64_t i) const { apply(i, std::index_sequence_for<InTs...>{}); }
};

template <class Body>
__global__ void elementwise_kernel(int64_t n, Body body) {
  int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride) body(i);
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
    ContiguousBody<OutT, F, InTs...> body{o, in, f};
    elementwise_kernel<<<blocks, detforge::cuda::kThreads, 0, stream>>>(n, body);
  } else {
    const std::vector<int64_t> st[N] = {out.strides(), ins[I].strides()...};
    auto idx = make_strided_index<N>(out.shape(), st);
    StridedBody<OutT, F, InTs...> body{idx, o, in, f};
    elementwise_kernel<<<blocks, detforge::cuda::kThreads, 0, stream>>>(n, body);
  }
  DF_CUDA_KERNEL_CHECK();
}

template <class OutT, class... InTs, class F>
void map(const Tensor& out, const std::array<Tensor, sizeof...(InTs)>& ins, const F& f) {
  map_impl<OutT, InTs...>(out, ins, f, std::index_sequence_for<InTs...>{});
}

}  // namespace detforge::kernels::cuda

// gather / scatter_add on CUDA: one thread per index element (grid-stride), scatter_add with
// atomicAdd (float, double, int32, int64; a 32-bit CAS loop for float16/bfloat16). Index values are
// not range-checked here: checking would need a device->host sync; out-of-range indices are skipped
// instead of written.
#include "kernels/indexing/gather.h"
#include "tensor/cuda/cuda_check.h"

namespace detforge::kernels {
namespace {

template <class T, class I>
__global__ void gather_kernel(int64_t n, StridedIndex<3> it, T* out, const T* in, const I* index,
                              int64_t size, int64_t stride) {
  int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    int64_t off[3];
    it.offsets(i, off);
    int64_t j = checked_index(index[off[1]], size);
    if (j >= 0) out[off[0]] = in[off[2] + j * stride];
  }
}

__device__ inline void atomic_add(float* p, float v) {
  atomicAdd(p, v);
}
__device__ inline void atomic_add(double* p, double v) {
  atomicAdd(p, v);
}
__device__ inline void atomic_add(int32_t* p, int32_t v) {
  atomicAdd(p, v);
}
__device__ inline void atomic_add(int64_t* p, int64_t v) {
  atomicAdd(reinterpret_cast<unsigned long long*>(p),
            static_cast<unsigned long long>(v));  // two's complement
}

// 16-bit floats: compare-and-swap on the aligned 32-bit word holding the value (add in float).
template <class H>
__device__ inline void atomic_add_16(H* p, H v) {
  unsigned int* word = reinterpret_cast<unsigned int*>(reinterpret_cast<size_t>(p) & ~size_t(3));
  const unsigned int shift = (reinterpret_cast<size_t>(p) & 2) ? 16u : 0u;
  unsigned int old = *word, assumed;
  do {
    assumed = old;
    H cur = H::from_bits(static_cast<uint16_t>((assumed >> shift) & 0xffffu));
    H sum(static_cast<float>(cur) + static_cast<float>(v));
    unsigned int next =
        (assumed & ~(0xffffu << shift)) | (static_cast<unsigned int>(sum.bits) << shift);
    old = atomicCAS(word, assumed, next);
  } while (assumed != old);
}
__device__ inline void atomic_add(Half* p, Half v) {
  atomic_add_16(p, v);
}
__device__ inline void atomic_add(BFloat16* p, BFloat16 v) {
  atomic_add_16(p, v);
}

template <class T, class I>
__global__ void scatter_add_kernel(int64_t n, StridedIndex<3> it, T* self, const T* src,
                                   const I* index, int64_t size, int64_t stride) {
  int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += step) {
    int64_t off[3];
    it.offsets(i, off);
    int64_t j = checked_index(index[off[1]], size);
    if (j >= 0) atomic_add(self + off[2] + j * stride, src[off[0]]);
  }
}

void gather_cuda(const Tensor& out, const Tensor& in, const Tensor& index, int64_t dim) {
  const int64_t n = index.numel();
  if (n == 0) return;
  StridedIndex<3> it = make_gather_index(out, index, in, dim);
  cudaStream_t stream = cuda::current_stream(in.device().index);
  DF_DISPATCH_ALL(in.dtype(), "gather", [&] {
    using T = scalar_t;
    DF_DISPATCH_INDEX(index.dtype(), "gather", [&] {
      gather_kernel<T, scalar_t><<<cuda::blocks_for(n), cuda::kThreads, 0, stream>>>(
          n, it, static_cast<T*>(out.data_ptr()), static_cast<const T*>(in.data_ptr()),
          static_cast<const scalar_t*>(index.data_ptr()), in.size(dim), in.stride(dim));
      DF_CUDA_KERNEL_CHECK();
    });
  });
}

void scatter_add_cuda(const Tensor& self, const Tensor& index, const Tensor& src, int64_t dim) {
  const int64_t n = index.numel();
  if (n == 0) return;
  StridedIndex<3> it = make_gather_index(src, index, self, dim);
  cudaStream_t stream = cuda::current_stream(self.device().index);
  auto launch = [&](auto tag) {
    using T = decltype(tag);
    DF_DISPATCH_INDEX(index.dtype(), "scatter_add", [&] {
      scatter_add_kernel<T, scalar_t><<<cuda::blocks_for(n), cuda::kThreads, 0, stream>>>(
          n, it, static_cast<T*>(self.data_ptr()), static_cast<const T*>(src.data_ptr()),
          static_cast<const scalar_t*>(index.data_ptr()), self.size(dim), self.stride(dim));
      DF_CUDA_KERNEL_CHECK();
    });
  };
  switch (self.dtype()) {
    case DType::f32:
      return launch(float{});
    case DType::f64:
      return launch(double{});
    case DType::i32:
      return launch(int32_t{});
    case DType::i64:
      return launch(int64_t{});
    case DType::f16:
      return launch(Half{});
    case DType::bf16:
      return launch(BFloat16{});
    default:
      throw DTypeError(str_cat("[scatter_add] CUDA dtype ", dtype_name(self.dtype()),
                               " is not supported (expected a floating type, int32 or int64)"));
  }
}

}  // namespace
DF_REGISTER_DISPATCH(gather_stub, CUDA, &gather_cuda);
DF_REGISTER_DISPATCH(scatter_add_stub, CUDA, &scatter_add_cuda);
}  // namespace detforge::kernels

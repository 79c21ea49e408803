// CUDA box coder: one thread per (box, code) for encode/decode, one thread per box for the
// decode backward (it sums the box gradient over the box's K codes without atomics).
#include "kernels/detection/box_coder.h"
#include "tensor/cuda/cuda_check.h"
#include "tensor/dtype_cast.h"

namespace detforge::kernels {
namespace {

constexpr int kThreads = 256;

template <class T, class A>
__device__ inline void load4(const T* s, A* d) {
  for (int k = 0; k < 4; ++k) d[k] = static_cast<A>(s[k]);
}

template <class T>
__global__ void encode_kernel(BoxCoderParams p, int64_t n, const T* g, const T* e, T* o) {
  using A = acc_t<T>;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += stride) {
    A gv[4], ev[4], t[4];
    load4(g + 4 * i, gv);
    load4(e + 4 * i, ev);
    box_encode(gv, ev, p, t);
    for (int k = 0; k < 4; ++k) o[4 * i + k] = cast_to<T>(t[k]);
  }
}

// m = N * K codes; code i belongs to box i / K.
template <class T>
__global__ void decode_kernel(BoxCoderParams p, int64_t m, int64_t K, const T* t, const T* b,
                              T* o) {
  using A = acc_t<T>;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < m;
       i += stride) {
    A tv[4], bv[4], ov[4];
    load4(t + 4 * i, tv);
    load4(b + 4 * (i / K), bv);
    box_decode(tv, bv, p, ov);
    for (int k = 0; k < 4; ++k) o[4 * i + k] = cast_to<T>(ov[k]);
  }
}

template <class T>
__global__ void decode_backward_kernel(BoxCoderParams p, int64_t n, int64_t K, const T* t,
                                       const T* b, const T* go, T* gc, T* gb) {
  using A = acc_t<T>;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += stride) {
    A bv[4], db[4] = {A(0), A(0), A(0), A(0)};
    load4(b + 4 * i, bv);
    for (int64_t j = 0; j < K; ++j) {
      const int64_t c = 4 * (i * K + j);
      A tv[4], gv[4], dt[4];
      load4(t + c, tv);
      load4(go + c, gv);
      box_decode_backward(tv, bv, gv, p, gc ? dt : nullptr, gb ? db : nullptr);
      if (gc)
        for (int k = 0; k < 4; ++k) gc[c + k] = cast_to<T>(dt[k]);
    }
    if (gb)
      for (int k = 0; k < 4; ++k) gb[4 * i + k] = cast_to<T>(db[k]);
  }
}

void encode_cuda(const BoxCoderParams& p, const Tensor& out, const Tensor& ref,
                 const Tensor& prop) {
  const int64_t n = ref.size(0);
  if (n == 0) return;
  cudaStream_t stream = detforge::cuda::current_stream(ref.device().index);
  DF_DISPATCH_FLOATING(ref.dtype(), "box_coder_encode", [&] {
    encode_kernel<scalar_t><<<detforge::cuda::blocks_for(n, kThreads), kThreads, 0, stream>>>(
        p, n, static_cast<const scalar_t*>(ref.data_ptr()),
        static_cast<const scalar_t*>(prop.data_ptr()), static_cast<scalar_t*>(out.data_ptr()));
    DF_CUDA_KERNEL_CHECK();
  });
}

void decode_cuda(const BoxCoderParams& p, const Tensor& out, const Tensor& codes,
                 const Tensor& boxes) {
  const int64_t n = boxes.size(0), m = codes.numel() / 4;
  if (m == 0) return;
  const int64_t K = m / n;
  cudaStream_t stream = detforge::cuda::current_stream(codes.device().index);
  DF_DISPATCH_FLOATING(codes.dtype(), "box_coder_decode", [&] {
    decode_kernel<scalar_t><<<detforge::cuda::blocks_for(m, kThreads), kThreads, 0, stream>>>(
        p, m, K, static_cast<const scalar_t*>(codes.data_ptr()),
        static_cast<const scalar_t*>(boxes.data_ptr()), static_cast<scalar_t*>(out.data_ptr()));
    DF_CUDA_KERNEL_CHECK();
  });
}

void decode_backward_cuda(const BoxCoderParams& p, const Tensor& gct, const Tensor& gbt,
                          const Tensor& got, const Tensor& codes, const Tensor& boxes) {
  const int64_t n = boxes.size(0);
  if (n == 0) return;
  const int64_t K = codes.numel() / 4 / n;
  cudaStream_t stream = detforge::cuda::current_stream(codes.device().index);
  DF_DISPATCH_FLOATING(codes.dtype(), "box_coder_decode_backward", [&] {
    decode_backward_kernel<scalar_t>
        <<<detforge::cuda::blocks_for(n, kThreads), kThreads, 0, stream>>>(
            p, n, K, static_cast<const scalar_t*>(codes.data_ptr()),
            static_cast<const scalar_t*>(boxes.data_ptr()),
            static_cast<const scalar_t*>(got.data_ptr()),
            gct.defined() ? static_cast<scalar_t*>(gct.data_ptr()) : nullptr,
            gbt.defined() ? static_cast<scalar_t*>(gbt.data_ptr()) : nullptr);
    DF_CUDA_KERNEL_CHECK();
  });
}

}  // namespace
DF_REGISTER_DISPATCH(box_encode_stub, CUDA, &encode_cuda);
DF_REGISTER_DISPATCH(box_decode_stub, CUDA, &decode_cuda);
DF_REGISTER_DISPATCH(box_decode_backward_stub, CUDA, &decode_backward_cuda);
}  // namespace detforge::kernels

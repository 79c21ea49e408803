// CUDA padding: one thread per output element; backward scatters with atomicAdd (reflect and
// replicate map several outputs to one input) into a zeroed grad_input.
#include "kernels/norm_pool/cuda/common.cuh"
#include "kernels/norm_pool/pad.h"

namespace detforge::kernels {
namespace {
using np_cuda::kBlock;

// Source offset within the plane of output element (a, c, k), or -1 for the constant.
__device__ inline int64_t pad_src(const PadParams& p, int64_t a, int64_t c, int64_t k) {
  int64_t sa = pad_src_index(a, p.before[0], p.in[0], p.mode);
  int64_t sc = pad_src_index(c, p.before[1], p.in[1], p.mode);
  int64_t sk = pad_src_index(k, p.before[2], p.in[2], p.mode);
  if (sa < 0 || sc < 0 || sk < 0) return -1;
  return (sa * p.in[1] + sc) * p.in[2] + sk;
}

template <class T>
__global__ void pad_fwd_kernel(T* out, const T* x, PadParams p, T fill, int64_t n) {
  const int64_t in_n = p.in[0] * p.in[1] * p.in[2];
  int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += stride) {
    int64_t k = i % p.out[2], c = (i / p.out[2]) % p.out[1],
            a = (i / (p.out[2] * p.out[1])) % p.out[0];
    int64_t pl = i / (p.out[0] * p.out[1] * p.out[2]);
    int64_t s = pad_src(p, a, c, k);
    out[i] = s < 0 ? fill : x[pl * in_n + s];
  }
}

template <class T>
__global__ void pad_bwd_kernel(T* gi, const T* go, PadParams p, int64_t n) {
  const int64_t in_n = p.in[0] * p.in[1] * p.in[2];
  int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += stride) {
    int64_t k = i % p.out[2], c = (i / p.out[2]) % p.out[1],
            a = (i / (p.out[2] * p.out[1])) % p.out[0];
    int64_t pl = i / (p.out[0] * p.out[1] * p.out[2]);
    int64_t s = pad_src(p, a, c, k);
    if (s >= 0) atomicAdd(gi + pl * in_n + s, go[i]);
  }
}

void pad_fwd_cuda(const Tensor& out, const Tensor& x, const PadParams& p) {
  int64_t n = out.numel();
  cudaStream_t st = detforge::cuda::current_stream(x.device().index);
  DF_DISPATCH_NUMERIC(x.dtype(), "pad", [&] {
    scalar_t fill = cast_to<scalar_t>(static_cast<acc_t<scalar_t>>(p.value));
    pad_fwd_kernel<scalar_t><<<detforge::cuda::blocks_for(n), kBlock, 0, st>>>(
        static_cast<scalar_t*>(out.data_ptr()), static_cast<const scalar_t*>(x.data_ptr()), p, fill,
        n);
    DF_CUDA_KERNEL_CHECK();
  });
}
void pad_bwd_cuda(const Tensor& gi, const Tensor& go, const PadParams& p) {
  int64_t n = go.numel();
  np_cuda::zero_async(gi);
  DF_NP_DISPATCH_ATOMIC(gi.dtype(), "pad_backward", [&] {
    pad_bwd_kernel<scalar_t><<<detforge::cuda::blocks_for(n), kBlock, 0,
                               detforge::cuda::current_stream(gi.device().index)>>>(
        static_cast<scalar_t*>(gi.data_ptr()), static_cast<const scalar_t*>(go.data_ptr()), p, n);
    DF_CUDA_KERNEL_CHECK();
  });
}

}  // namespace
DF_REGISTER_DISPATCH(pad_stub, CUDA, &pad_fwd_cuda);
DF_REGISTER_DISPATCH(pad_backward_stub, CUDA, &pad_bwd_cuda);
}  // namespace detforge::kernels

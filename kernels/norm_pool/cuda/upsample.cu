// CUDA nearest/bilinear upsampling: one thread per output element; backward scatters with
// atomicAdd into a zeroed grad_input.
#include "kernels/norm_pool/cuda/common.cuh"
#include "kernels/norm_pool/upsample.h"

namespace detforge::kernels {
namespace {
using np_cuda::kBlock;

template <class T>
__global__ void nearest_fwd_kernel(T* out, const T* x, UpsampleParams p, float rh, float rw,
                                   int64_t n) {
  DF_NP_LOOP(i, n) {
    int64_t ow = i % p.OW, oh = (i / p.OW) % p.OH, pl = i / (p.OW * p.OH);
    out[i] = x[(pl * p.H + nearest_src_index(oh, rh, p.H, p.OH)) * p.W +
               nearest_src_index(ow, rw, p.W, p.OW)];
  }
}

template <class T>
__global__ void nearest_bwd_kernel(T* gi, const T* go, UpsampleParams p, float rh, float rw,
                                   int64_t n) {
  DF_NP_LOOP(i, n) {
    int64_t ow = i % p.OW, oh = (i / p.OW) % p.OH, pl = i / (p.OW * p.OH);
    atomicAdd(gi + (pl * p.H + nearest_src_index(oh, rh, p.H, p.OH)) * p.W +
                  nearest_src_index(ow, rw, p.W, p.OW),
              go[i]);
  }
}

template <class T, class A>
__global__ void bilinear_fwd_kernel(T* out, const T* x, UpsampleParams p, A rh, A rw, int64_t n) {
  DF_NP_LOOP(i, n) {
    int64_t ow = i % p.OW, oh = (i / p.OW) % p.OH, pl = i / (p.OW * p.OH);
    int64_t h0, h1, w0, w1;
    A a0, a1, b0, b1;
    bilinear_src<A>(oh, p.H, rh, p.align_corners, &h0, &h1, &a0, &a1);
    bilinear_src<A>(ow, p.W, rw, p.align_corners, &w0, &w1, &b0, &b1);
    const T* r0 = x + (pl * p.H + h0) * p.W;
    const T* r1 = x + (pl * p.H + h1) * p.W;
    out[i] = cast_to<T>(a0 * (b0 * static_cast<A>(r0[w0]) + b1 * static_cast<A>(r0[w1])) +
                        a1 * (b0 * static_cast<A>(r1[w0]) + b1 * static_cast<A>(r1[w1])));
  }
}

template <class T>
__global__ void bilinear_bwd_kernel(T* gi, const T* go, UpsampleParams p, T rh, T rw, int64_t n) {
  DF_NP_LOOP(i, n) {
    int64_t ow = i % p.OW, oh = (i / p.OW) % p.OH, pl = i / (p.OW * p.OH);
    int64_t h0, h1, w0, w1;
    T a0, a1, b0, b1;
    bilinear_src<T>(oh, p.H, rh, p.align_corners, &h0, &h1, &a0, &a1);
    bilinear_src<T>(ow, p.W, rw, p.align_corners, &w0, &w1, &b0, &b1);
    T g = go[i];
    T* r0 = gi + (pl * p.H + h0) * p.W;
    T* r1 = gi + (pl * p.H + h1) * p.W;
    atomicAdd(r0 + w0, a0 * b0 * g);
    atomicAdd(r0 + w1, a0 * b1 * g);
    atomicAdd(r1 + w0, a1 * b0 * g);
    atomicAdd(r1 + w1, a1 * b1 * g);
  }
}

template <class T>
T* mp(const Tensor& t) {
  return static_cast<T*>(t.data_ptr());
}
cudaStream_t stream_of(const Tensor& t) {
  return detforge::cuda::current_stream(t.device().index);
}

void nearest_fwd_cuda(const Tensor& out, const Tensor& x, const UpsampleParams& p) {
  int64_t n = out.numel();
  float rh = nearest_scale(p.H, p.OH, p.scale_h), rw = nearest_scale(p.W, p.OW, p.scale_w);
  DF_DISPATCH_FLOATING(x.dtype(), "upsample_nearest2d", [&] {
    nearest_fwd_kernel<scalar_t><<<detforge::cuda::blocks_for(n), kBlock, 0, stream_of(x)>>>(
        mp<scalar_t>(out), mp<scalar_t>(x), p, rh, rw, n);
    DF_CUDA_KERNEL_CHECK();
  });
}
void nearest_bwd_cuda(const Tensor& gi, const Tensor& go, const UpsampleParams& p) {
  int64_t n = go.numel();
  float rh = nearest_scale(p.H, p.OH, p.scale_h), rw = nearest_scale(p.W, p.OW, p.scale_w);
  np_cuda::zero_async(gi);
  DF_NP_DISPATCH_ATOMIC(gi.dtype(), "upsample_nearest2d_backward", [&] {
    nearest_bwd_kernel<scalar_t><<<detforge::cuda::blocks_for(n), kBlock, 0, stream_of(gi)>>>(
        mp<scalar_t>(gi), mp<scalar_t>(go), p, rh, rw, n);
    DF_CUDA_KERNEL_CHECK();
  });
}
void bilinear_fwd_cuda(const Tensor& out, const Tensor& x, const UpsampleParams& p) {
  int64_t n = out.numel();
  DF_DISPATCH_FLOATING(x.dtype(), "upsample_bilinear2d", [&] {
    using A = acc_t<scalar_t>;
    A rh = area_pixel_scale<A>(p.H, p.OH, p.align_corners, p.scale_h);
    A rw = area_pixel_scale<A>(p.W, p.OW, p.align_corners, p.scale_w);
    bilinear_fwd_kernel<scalar_t, A><<<detforge::cuda::blocks_for(n), kBlock, 0, stream_of(x)>>>(
        mp<scalar_t>(out), mp<scalar_t>(x), p, rh, rw, n);
    DF_CUDA_KERNEL_CHECK();
  });
}
void bilinear_bwd_cuda(const Tensor& gi, const Tensor& go, const UpsampleParams& p) {
  int64_t n = go.numel();
  np_cuda::zero_async(gi);
  DF_NP_DISPATCH_ATOMIC(gi.dtype(), "upsample_bilinear2d_backward", [&] {
    scalar_t rh = area_pixel_scale<scalar_t>(p.H, p.OH, p.align_corners, p.scale_h);
    scalar_t rw = area_pixel_scale<scalar_t>(p.W, p.OW, p.align_corners, p.scale_w);
    bilinear_bwd_kernel<scalar_t><<<detforge::cuda::blocks_for(n), kBlock, 0, stream_of(gi)>>>(
        mp<scalar_t>(gi), mp<scalar_t>(go), p, rh, rw, n);
    DF_CUDA_KERNEL_CHECK();
  });
}

}  // namespace
DF_REGISTER_DISPATCH(upsample_nearest2d_stub, CUDA, &nearest_fwd_cuda);
DF_REGISTER_DISPATCH(upsample_nearest2d_backward_stub, CUDA, &nearest_bwd_cuda);
DF_REGISTER_DISPATCH(upsample_bilinear2d_stub, CUDA, &bilinear_fwd_cuda);
DF_REGISTER_DISPATCH(upsample_bilinear2d_backward_stub, CUDA, &bilinear_bwd_cuda);
}  // namespace detforge::kernels

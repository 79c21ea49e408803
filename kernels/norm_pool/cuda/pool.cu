// CUDA 2-D pooling: one thread per output element forward; max backward scatters with atomicAdd
// at the saved argmax, average backwards gather (one thread per input element, no atomics).
#include "kernels/norm_pool/cuda/common.cuh"
#include "kernels/norm_pool/pool.h"

namespace detforge::kernels {
namespace {
using np_cuda::kBlock;

template <class T>
__global__ void max_fwd_kernel(T* out, int64_t* idx, const T* x, Pool2dParams p, int64_t n) {
  using A = acc_t<T>;
  DF_NP_LOOP(i, n) {
    int64_t ow = i % p.OW, oh = (i / p.OW) % p.OH, pl = i / (p.OW * p.OH);
    int64_t arg;
    A v = max_pool_window<T, A>(x + pl * p.H * p.W, p, oh, ow, &arg);
    out[i] = cast_to<T>(v);
    idx[i] = arg;
  }
}

template <class T>
__global__ void max_bwd_kernel(T* gi, const T* go, const int64_t* idx, Pool2dParams p, int64_t n) {
  DF_NP_LOOP(i, n) {
    int64_t pl = i / (p.OW * p.OH), k = idx[i];
    if (k >= 0) atomicAdd(gi + pl * p.H * p.W + k, go[i]);
  }
}

template <class T>
__global__ void avg_fwd_kernel(T* out, const T* x, Pool2dParams p, int64_t n) {
  using A = acc_t<T>;
  DF_NP_LOOP(i, n) {
    int64_t ow = i % p.OW, oh = (i / p.OW) % p.OH, pl = i / (p.OW * p.OH);
    const T* plane = x + pl * p.H * p.W;
    AvgWindow w = avg_pool_window(p, oh, ow);
    A s = A(0);
    for (int64_t h = w.h0; h < w.h1; ++h)
      for (int64_t c = w.w0; c < w.w1; ++c) s += static_cast<A>(plane[h * p.W + c]);
    out[i] = cast_to<T>(avg_pool_value(s, w));
  }
}

// Output rows/cols whose window can contain input index h: oh in [lo, hi].
__device__ inline void covering(int64_t h, int64_t k, int64_t s, int64_t pad, int64_t out,
                                int64_t* lo, int64_t* hi) {
  int64_t a = h + pad - k + 1;
  *lo = a <= 0 ? 0 : (a + s - 1) / s;
  int64_t b = (h + pad) / s;
  *hi = b < out - 1 ? b : out - 1;
}

template <class T>
__global__ void avg_bwd_kernel(T* gi, const T* go, Pool2dParams p, int64_t n) {
  using A = acc_t<T>;
  DF_NP_LOOP(i, n) {
    int64_t w = i % p.W, h = (i / p.W) % p.H, pl = i / (p.W * p.H);
    int64_t oh0, oh1, ow0, ow1;
    covering(h, p.kh, p.sh, p.ph, p.OH, &oh0, &oh1);
    covering(w, p.kw, p.sw, p.pw, p.OW, &ow0, &ow1);
    A s = A(0);
    for (int64_t oh = oh0; oh <= oh1; ++oh)
      for (int64_t ow = ow0; ow <= ow1; ++ow) {
        AvgWindow win = avg_pool_window(p, oh, ow);
        if (h >= win.h0 && h < win.h1 && w >= win.w0 && w < win.w1)
          s += static_cast<A>(go[(pl * p.OH + oh) * p.OW + ow]) / static_cast<A>(win.divisor);
      }
    gi[i] = cast_to<T>(s);
  }
}

template <class T>
__global__ void adaptive_fwd_kernel(T* out, const T* x, Pool2dParams p, int64_t n) {
  using A = acc_t<T>;
  DF_NP_LOOP(i, n) {
    int64_t ow = i % p.OW, oh = (i / p.OW) % p.OH, pl = i / (p.OW * p.OH);
    int64_t h0 = adaptive_start(oh, p.H, p.OH), h1 = adaptive_end(oh, p.H, p.OH);
    int64_t w0 = adaptive_start(ow, p.W, p.OW), w1 = adaptive_end(ow, p.W, p.OW);
    const T* plane = x + pl * p.H * p.W;
    A s = A(0);
    for (int64_t h = h0; h < h1; ++h)
      for (int64_t c = w0; c < w1; ++c) s += static_cast<A>(plane[h * p.W + c]);
    out[i] = cast_to<T>(s / static_cast<A>((h1 - h0) * (w1 - w0)));
  }
}

template <class T>
__global__ void adaptive_bwd_kernel(T* gi, const T* go, Pool2dParams p, int64_t n) {
  using A = acc_t<T>;
  DF_NP_LOOP(i, n) {
    int64_t w = i % p.W, h = (i / p.W) % p.H, pl = i / (p.W * p.H);
    // Output windows containing h: start(oh) <= h < end(oh); start is monotone, so scan from the
    // first oh whose end passes h.
    A s = A(0);
    for (int64_t oh = (h * p.OH) / p.H; oh < p.OH && adaptive_start(oh, p.H, p.OH) <= h; ++oh) {
      int64_t h0 = adaptive_start(oh, p.H, p.OH), h1 = adaptive_end(oh, p.H, p.OH);
      if (h < h0 || h >= h1) continue;
      for (int64_t ow = (w * p.OW) / p.W; ow < p.OW && adaptive_start(ow, p.W, p.OW) <= w; ++ow) {
        int64_t w0 = adaptive_start(ow, p.W, p.OW), w1 = adaptive_end(ow, p.W, p.OW);
        if (w < w0 || w >= w1) continue;
        s += static_cast<A>(go[(pl * p.OH + oh) * p.OW + ow]) /
             static_cast<A>((h1 - h0) * (w1 - w0));
      }
    }
    gi[i] = cast_to<T>(s);
  }
}

template <class T>
T* mp(const Tensor& t) {
  return static_cast<T*>(t.data_ptr());
}
cudaStream_t stream_of(const Tensor& t) {
  return detforge::cuda::current_stream(t.device().index);
}

void max_fwd_cuda(const Tensor& out, const Tensor& idx, const Tensor& x, const Pool2dParams& p) {
  int64_t n = out.numel();
  DF_DISPATCH_FLOATING(x.dtype(), "max_pool2d", [&] {
    max_fwd_kernel<scalar_t><<<detforge::cuda::blocks_for(n), kBlock, 0, stream_of(x)>>>(
        mp<scalar_t>(out), mp<int64_t>(idx), mp<scalar_t>(x), p, n);
    DF_CUDA_KERNEL_CHECK();
  });
}
void max_bwd_cuda(const Tensor& gi, const Tensor& go, const Tensor& idx, const Pool2dParams& p) {
  int64_t n = go.numel();
  np_cuda::zero_async(gi);
  DF_NP_DISPATCH_ATOMIC(gi.dtype(), "max_pool2d_backward", [&] {
    max_bwd_kernel<scalar_t><<<detforge::cuda::blocks_for(n), kBlock, 0, stream_of(gi)>>>(
        mp<scalar_t>(gi), mp<scalar_t>(go), mp<int64_t>(idx), p, n);
    DF_CUDA_KERNEL_CHECK();
  });
}
void avg_fwd_cuda(const Tensor& out, const Tensor& x, const Pool2dParams& p) {
  int64_t n = out.numel();
  DF_DISPATCH_FLOATING(x.dtype(), "avg_pool2d", [&] {
    avg_fwd_kernel<scalar_t><<<detforge::cuda::blocks_for(n), kBlock, 0, stream_of(x)>>>(
        mp<scalar_t>(out), mp<scalar_t>(x), p, n);
    DF_CUDA_KERNEL_CHECK();
  });
}
void avg_bwd_cuda(const Tensor& gi, const Tensor& go, const Pool2dParams& p) {
  int64_t n = gi.numel();
  DF_DISPATCH_FLOATING(gi.dtype(), "avg_pool2d_backward", [&] {
    avg_bwd_kernel<scalar_t><<<detforge::cuda::blocks_for(n), kBlock, 0, stream_of(gi)>>>(
        mp<scalar_t>(gi), mp<scalar_t>(go), p, n);
    DF_CUDA_KERNEL_CHECK();
  });
}
void adaptive_fwd_cuda(const Tensor& out, const Tensor& x, const Pool2dParams& p) {
  int64_t n = out.numel();
  DF_DISPATCH_FLOATING(x.dtype(), "adaptive_avg_pool2d", [&] {
    adaptive_fwd_kernel<scalar_t><<<detforge::cuda::blocks_for(n), kBlock, 0, stream_of(x)>>>(
        mp<scalar_t>(out), mp<scalar_t>(x), p, n);
    DF_CUDA_KERNEL_CHECK();
  });
}
void adaptive_bwd_cuda(const Tensor& gi, const Tensor& go, const Pool2dParams& p) {
  int64_t n = gi.numel();
  DF_DISPATCH_FLOATING(gi.dtype(), "adaptive_avg_pool2d_backward", [&] {
    adaptive_bwd_kernel<scalar_t><<<detforge::cuda::blocks_for(n), kBlock, 0, stream_of(gi)>>>(
        mp<scalar_t>(gi), mp<scalar_t>(go), p, n);
    DF_CUDA_KERNEL_CHECK();
  });
}

}  // namespace
DF_REGISTER_DISPATCH(max_pool2d_stub, CUDA, &max_fwd_cuda);
DF_REGISTER_DISPATCH(max_pool2d_backward_stub, CUDA, &max_bwd_cuda);
DF_REGISTER_DISPATCH(avg_pool2d_stub, CUDA, &avg_fwd_cuda);
DF_REGISTER_DISPATCH(avg_pool2d_backward_stub, CUDA, &avg_bwd_cuda);
DF_REGISTER_DISPATCH(adaptive_avg_pool2d_stub, CUDA, &adaptive_fwd_cuda);
DF_REGISTER_DISPATCH(adaptive_avg_pool2d_backward_stub, CUDA, &adaptive_bwd_cuda);
}  // namespace detforge::kernels

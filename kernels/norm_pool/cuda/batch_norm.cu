// CUDA batch/group/layer normalisation: one block per channel (batch norm) or per row (group /
// layer norm) reduces in double, then applies; the fused backward has the same shape.
#include <math_constants.h>

#include "kernels/norm_pool/batch_norm.h"
#include "kernels/norm_pool/cuda/common.cuh"

namespace detforge::kernels {
namespace {
using np_cuda::block_sum;
using np_cuda::kBlock;

// Visits the offsets of channel c's N * S elements, spread over the block's threads: rows of S
// contiguous elements when S fills the block (coalesced, no division), else a flat index.
template <class F>
__device__ inline void for_channel(int64_t N, int64_t C, int64_t S, int64_t c, F f) {
  if (S >= blockDim.x) {
    for (int64_t n = 0; n < N; ++n) {
      const int64_t base = (n * C + c) * S;
      for (int64_t s = threadIdx.x; s < S; s += blockDim.x) f(base + s);
    }
  } else {
    for (int64_t i = threadIdx.x; i < N * S; i += blockDim.x) f(((i / S) * C + c) * S + i % S);
  }
}

template <class T, class St>
__global__ void bn_stats_kernel(const T* x, int64_t N, int64_t C, int64_t S, St* mean, St* invstd,
                                St* rm, St* rv, double momentum, double eps) {
  __shared__ double shm[32];
  const int64_t c = blockIdx.x, M = N * S;
  double s = 0;
  for_channel(N, C, S, c, [&](int64_t k) { s += static_cast<double>(static_cast<St>(x[k])); });
  double mu = block_sum(s, shm) / static_cast<double>(M);
  double ss = 0;
  for_channel(N, C, S, c, [&](int64_t k) {
    double d = static_cast<double>(static_cast<St>(x[k])) - mu;
    ss += d * d;
  });
  ss = block_sum(ss, shm);
  if (threadIdx.x == 0) {
    mean[c] = static_cast<St>(mu);
    invstd[c] = static_cast<St>(1.0 / sqrt(ss / static_cast<double>(M) + eps));
    if (rm) rm[c] = static_cast<St>(running_update(rm[c], mu, momentum));
    if (rv)
      rv[c] = static_cast<St>(
          running_update(rv[c], M > 1 ? ss / static_cast<double>(M - 1) : CUDART_NAN, momentum));
  }
}

template <class St>
__global__ void bn_invstd_kernel(St* invstd, const St* var, int64_t C, double eps) {
  int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c < C) invstd[c] = static_cast<St>(1.0 / sqrt(static_cast<double>(var[c]) + eps));
}

template <class T, class A>
__global__ void bn_apply_kernel(T* out, const T* x, int64_t n, int64_t C, int64_t S, const A* mean,
                                const A* invstd, const T* w, const T* b) {
  int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += stride) {
    int64_t c = (i / S) % C;
    A wc = w ? static_cast<A>(w[c]) : A(1), bc = b ? static_cast<A>(b[c]) : A(0);
    out[i] = cast_to<T>(norm_apply_elem<A>(static_cast<A>(x[i]), mean[c], invstd[c], wc, bc));
  }
}

template <class T, class A>
__global__ void bn_backward_kernel(T* gi, T* gw, T* gb, const T* go, const T* x, int64_t N,
                                   int64_t C, int64_t S, const A* mean, const A* invstd, const T* w,
                                   bool train) {
  __shared__ double shm[32];
  const int64_t c = blockIdx.x, M = N * S;
  const double mu = mean[c];
  double sdy = 0, sdyx = 0;
  for_channel(N, C, S, c, [&](int64_t k) {
    double g = static_cast<A>(go[k]);
    sdy += g;
    sdyx += g * (static_cast<double>(static_cast<A>(x[k])) - mu);
  });
  sdy = block_sum(sdy, shm);
  sdyx = block_sum(sdyx, shm);
  const A is = invstd[c], wc = w ? static_cast<A>(w[c]) : A(1);
  if (threadIdx.x == 0) {
    if (gw) gw[c] = cast_to<T>(static_cast<A>(sdyx * is));
    if (gb) gb[c] = cast_to<T>(static_cast<A>(sdy));
  }
  if (!gi) return;
  const A mdyw = static_cast<A>(wc * sdy / static_cast<double>(M));
  const A mdywx = static_cast<A>(wc * sdyx * is / static_cast<double>(M));
  const A m = mean[c];
  for_channel(N, C, S, c, [&](int64_t k) {
    A xhat = (static_cast<A>(x[k]) - m) * is;
    gi[k] =
        cast_to<T>(norm_backward_elem<A>(static_cast<A>(go[k]) * wc, xhat, is, mdyw, mdywx, train));
  });
}

// ---- group / layer norm: one block per (n, g) row of L = (C / G) * S contiguous elements ----
template <class T, class A>
__global__ void gn_forward_kernel(T* out, A* mean, A* rstd, const T* x, const T* w, const T* b,
                                  int64_t C, int64_t S, int64_t G, double eps) {
  __shared__ double shm[32];
  const int64_t r = blockIdx.x, Cg = C / G, L = Cg * S, g = r % G;
  const T* xr = x + r * L;
  double s = 0;
  for (int64_t i = threadIdx.x; i < L; i += blockDim.x)
    s += static_cast<double>(static_cast<A>(xr[i]));
  double mu = block_sum(s, shm) / static_cast<double>(L);
  double ss = 0;
  for (int64_t i = threadIdx.x; i < L; i += blockDim.x) {
    double d = static_cast<double>(static_cast<A>(xr[i])) - mu;
    ss += d * d;
  }
  ss = block_sum(ss, shm);
  const A m = static_cast<A>(mu),
          is = static_cast<A>(1.0 / sqrt(ss / static_cast<double>(L) + eps));
  if (threadIdx.x == 0) {
    mean[r] = m;
    rstd[r] = is;
  }
  for (int64_t i = threadIdx.x; i < L; i += blockDim.x) {
    int64_t c = g * Cg + i / S;
    A wc = w ? static_cast<A>(w[c]) : A(1), bc = b ? static_cast<A>(b[c]) : A(0);
    out[r * L + i] = cast_to<T>(norm_apply_elem<A>(static_cast<A>(xr[i]), m, is, wc, bc));
  }
}

template <class T, class A>
__global__ void gn_backward_input_kernel(T* gi, const T* go, const T* x, const A* mean,
                                         const A* rstd, const T* w, int64_t C, int64_t S,
                                         int64_t G) {
  __shared__ double shm[32];
  const int64_t r = blockIdx.x, Cg = C / G, L = Cg * S, g = r % G;
  const A m = mean[r], is = rstd[r];
  double sdyw = 0, sdywx = 0;
  for (int64_t i = threadIdx.x; i < L; i += blockDim.x) {
    A wc = w ? static_cast<A>(w[g * Cg + i / S]) : A(1);
    double dyw = static_cast<double>(static_cast<A>(go[r * L + i]) * wc);
    sdyw += dyw;
    sdywx += dyw * static_cast<double>((static_cast<A>(x[r * L + i]) - m) * is);
  }
  sdyw = block_sum(sdyw, shm);
  sdywx = block_sum(sdywx, shm);
  const A mdyw = static_cast<A>(sdyw / static_cast<double>(L)),
          mdywx = static_cast<A>(sdywx / static_cast<double>(L));
  for (int64_t i = threadIdx.x; i < L; i += blockDim.x) {
    A wc = w ? static_cast<A>(w[g * Cg + i / S]) : A(1);
    A xhat = (static_cast<A>(x[r * L + i]) - m) * is;
    gi[r * L + i] = cast_to<T>(
        norm_backward_elem<A>(static_cast<A>(go[r * L + i]) * wc, xhat, is, mdyw, mdywx, true));
  }
}

// One block per channel: sums over n and s.
template <class T, class A>
__global__ void gn_backward_affine_kernel(T* gw, T* gb, const T* go, const T* x, const A* mean,
                                          const A* rstd, int64_t N, int64_t C, int64_t S,
                                          int64_t G) {
  __shared__ double shm[32];
  const int64_t c = blockIdx.x, g = c / (C / G), M = N * S;
  double sw = 0, sb = 0;
  for (int64_t i = threadIdx.x; i < M; i += blockDim.x) {
    int64_t n = i / S, k = (n * C + c) * S + i % S, r = n * G + g;
    double dy = static_cast<A>(go[k]);
    sb += dy;
    sw += dy * (static_cast<double>(static_cast<A>(x[k])) - static_cast<double>(mean[r])) *
          static_cast<double>(rstd[r]);
  }
  sw = block_sum(sw, shm);
  sb = block_sum(sb, shm);
  if (threadIdx.x == 0) {
    if (gw) gw[c] = cast_to<T>(static_cast<A>(sw));
    if (gb) gb[c] = cast_to<T>(static_cast<A>(sb));
  }
}

template <class T>
const T* cptr(const Tensor& t) {
  return t.defined() ? static_cast<const T*>(t.data_ptr()) : nullptr;
}
template <class T>
T* mptr(const Tensor& t) {
  return t.defined() ? static_cast<T*>(t.data_ptr()) : nullptr;
}
// One block per channel / row (gridDim.x allows 2^31 - 1).
int grid_cap(int64_t n) {
  return static_cast<int>(n);
}

void bn_stats_cuda(const Tensor& x, const BatchNormShape& s, const Tensor& mean,
                   const Tensor& invstd, const Tensor& rm, const Tensor& rv, double momentum,
                   double eps) {
  cudaStream_t st = detforge::cuda::current_stream(x.device().index);
  DF_DISPATCH_FLOATING(x.dtype(), "batch_norm", [&] {
    using A = acc_t<scalar_t>;
    bn_stats_kernel<scalar_t, A><<<grid_cap(s.C), kBlock, 0, st>>>(
        cptr<scalar_t>(x), s.N, s.C, s.S, mptr<A>(mean), mptr<A>(invstd), mptr<A>(rm), mptr<A>(rv),
        momentum, eps);
    DF_CUDA_KERNEL_CHECK();
  });
}
void bn_invstd_cuda(const Tensor& invstd, const Tensor& var, double eps) {
  cudaStream_t st = detforge::cuda::current_stream(var.device().index);
  DF_DISPATCH_FLOATING(var.dtype(), "batch_norm", [&] {
    using A = acc_t<scalar_t>;
    int64_t C = var.numel();
    bn_invstd_kernel<A>
        <<<detforge::cuda::blocks_for(C), kBlock, 0, st>>>(mptr<A>(invstd), cptr<A>(var), C, eps);
    DF_CUDA_KERNEL_CHECK();
  });
}
void bn_apply_cuda(const Tensor& out, const Tensor& x, const BatchNormShape& s, const Tensor& mean,
                   const Tensor& invstd, const Tensor& w, const Tensor& b) {
  cudaStream_t st = detforge::cuda::current_stream(x.device().index);
  DF_DISPATCH_FLOATING(x.dtype(), "batch_norm", [&] {
    using A = acc_t<scalar_t>;
    int64_t n = x.numel();
    bn_apply_kernel<scalar_t, A><<<detforge::cuda::blocks_for(n), kBlock, 0, st>>>(
        mptr<scalar_t>(out), cptr<scalar_t>(x), n, s.C, s.S, cptr<A>(mean), cptr<A>(invstd),
        cptr<scalar_t>(w), cptr<scalar_t>(b));
    DF_CUDA_KERNEL_CHECK();
  });
}
void bn_backward_cuda(const Tensor& gi, const Tensor& gw, const Tensor& gb, const Tensor& go,
                      const Tensor& x, const BatchNormShape& s, const Tensor& mean,
                      const Tensor& invstd, const Tensor& w, bool train) {
  cudaStream_t st = detforge::cuda::current_stream(x.device().index);
  DF_DISPATCH_FLOATING(x.dtype(), "batch_norm_backward", [&] {
    using A = acc_t<scalar_t>;
    bn_backward_kernel<scalar_t, A><<<grid_cap(s.C), kBlock, 0, st>>>(
        mptr<scalar_t>(gi), mptr<scalar_t>(gw), mptr<scalar_t>(gb), cptr<scalar_t>(go),
        cptr<scalar_t>(x), s.N, s.C, s.S, cptr<A>(mean), cptr<A>(invstd), cptr<scalar_t>(w), train);
    DF_CUDA_KERNEL_CHECK();
  });
}
void gn_forward_cuda(const Tensor& out, const Tensor& mean, const Tensor& rstd, const Tensor& x,
                     const Tensor& w, const Tensor& b, const GroupNormShape& s, double eps) {
  cudaStream_t st = detforge::cuda::current_stream(x.device().index);
  DF_DISPATCH_FLOATING(x.dtype(), "group_norm", [&] {
    using A = acc_t<scalar_t>;
    gn_forward_kernel<scalar_t, A><<<grid_cap(s.N * s.G), kBlock, 0, st>>>(
        mptr<scalar_t>(out), mptr<A>(mean), mptr<A>(rstd), cptr<scalar_t>(x), cptr<scalar_t>(w),
        cptr<scalar_t>(b), s.C, s.S, s.G, eps);
    DF_CUDA_KERNEL_CHECK();
  });
}
void gn_backward_cuda(const Tensor& gi, const Tensor& gw, const Tensor& gb, const Tensor& go,
                      const Tensor& x, const Tensor& mean, const Tensor& rstd, const Tensor& w,
                      const GroupNormShape& s) {
  cudaStream_t st = detforge::cuda::current_stream(x.device().index);
  DF_DISPATCH_FLOATING(x.dtype(), "group_norm_backward", [&] {
    using A = acc_t<scalar_t>;
    if (gi.defined()) {
      gn_backward_input_kernel<scalar_t, A><<<grid_cap(s.N * s.G), kBlock, 0, st>>>(
          mptr<scalar_t>(gi), cptr<scalar_t>(go), cptr<scalar_t>(x), cptr<A>(mean), cptr<A>(rstd),
          cptr<scalar_t>(w), s.C, s.S, s.G);
      DF_CUDA_KERNEL_CHECK();
    }
    if (gw.defined() || gb.defined()) {
      gn_backward_affine_kernel<scalar_t, A><<<grid_cap(s.C), kBlock, 0, st>>>(
          mptr<scalar_t>(gw), mptr<scalar_t>(gb), cptr<scalar_t>(go), cptr<scalar_t>(x),
          cptr<A>(mean), cptr<A>(rstd), s.N, s.C, s.S, s.G);
      DF_CUDA_KERNEL_CHECK();
    }
  });
}

}  // namespace
DF_REGISTER_DISPATCH(batch_norm_stats_stub, CUDA, &bn_stats_cuda);
DF_REGISTER_DISPATCH(batch_norm_invstd_stub, CUDA, &bn_invstd_cuda);
DF_REGISTER_DISPATCH(batch_norm_apply_stub, CUDA, &bn_apply_cuda);
DF_REGISTER_DISPATCH(batch_norm_backward_stub, CUDA, &bn_backward_cuda);
DF_REGISTER_DISPATCH(group_norm_forward_stub, CUDA, &gn_forward_cuda);
DF_REGISTER_DISPATCH(group_norm_backward_stub, CUDA, &gn_backward_cuda);
}  // namespace detforge::kernels

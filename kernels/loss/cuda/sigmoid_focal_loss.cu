// CUDA sigmoid_focal_loss: the DETFORGE_HD element math of the CPU path in a grid-stride loop;
// sums as block partials in double plus an on-device finaliser (no host sync).
#include "kernels/loss/cuda/loss_cuda.cuh"
#include "kernels/loss/sigmoid_focal_loss.h"

namespace detforge::kernels {
namespace {
using namespace cuda_loss;

template <class T>
__global__ void forward_kernel(SigmoidFocalLossParams p, int64_t n, const T* x, const T* y, T* out,
                               double* partials) {
  using A = acc_t<T>;
  const A alpha = static_cast<A>(p.alpha), gamma = static_cast<A>(p.gamma);
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  double acc[1] = {0.0};
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += stride) {
    A v = sigmoid_focal_loss_value(static_cast<A>(x[i]), static_cast<A>(y[i]), alpha, gamma);
    if (partials)
      acc[0] += static_cast<double>(v);
    else
      out[i] = cast_to<T>(v);
  }
  if (!partials) return;
  block_sum<1>(acc);
  if (threadIdx.x == 0) partials[blockIdx.x] = acc[0];
}

template <class T>
__global__ void backward_kernel(SigmoidFocalLossParams p, int64_t n, const T* x, const T* y,
                                const T* g, T* gx, T* gy) {
  using A = acc_t<T>;
  const A alpha = static_cast<A>(p.alpha), gamma = static_cast<A>(p.gamma);
  const bool full = p.reduction == LossReduction::none;
  A g0 = full ? A(0) : static_cast<A>(g[0]);
  if (p.reduction == LossReduction::mean) g0 = g0 / static_cast<A>(n);
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += stride) {
    A dx, dy;
    sigmoid_focal_loss_grad(static_cast<A>(x[i]), static_cast<A>(y[i]), alpha, gamma, dx, dy);
    A gi = full ? static_cast<A>(g[i]) : g0;
    if (gx) gx[i] = cast_to<T>(gi * dx);
    if (gy) gy[i] = cast_to<T>(gi * dy);
  }
}

template <class T>
void forward_typed(const SigmoidFocalLossParams& p, const Tensor& out, const Tensor& xt,
                   const Tensor& yt) {
  const int64_t n = xt.numel();
  cudaStream_t stream = detforge::cuda::current_stream(xt.device().index);
  const T* x = static_cast<const T*>(xt.data_ptr());
  const T* y = static_cast<const T*>(yt.data_ptr());
  T* o = static_cast<T*>(out.data_ptr());
  if (p.reduction == LossReduction::none) {
    if (n == 0) return;
    forward_kernel<T>
        <<<detforge::cuda::blocks_for(n, kThreads), kThreads, 0, stream>>>(p, n, x, y, o, nullptr);
    DF_CUDA_KERNEL_CHECK();
    return;
  }
  int blocks = reduce_blocks(n);
  Tensor partials = Tensor::empty({blocks}, DType::f64, xt.device());  // caching allocator
  double* part = static_cast<double*>(partials.data_ptr());
  forward_kernel<T><<<blocks, kThreads, 0, stream>>>(p, n, x, y, o, part);
  DF_CUDA_KERNEL_CHECK();
  // mean of an empty tensor: 0 / 0 = NaN, as PyTorch.
  int64_t count = p.reduction == LossReduction::mean ? (n > 0 ? n : -1) : 0;
  finalize_kernel<T, float, 1><<<1, kThreads, 0, stream>>>(part, blocks, o, count, nullptr);
  DF_CUDA_KERNEL_CHECK();
}

template <class T>
void backward_typed(const SigmoidFocalLossParams& p, const Tensor& gx, const Tensor& gy,
                    const Tensor& go, const Tensor& x, const Tensor& y) {
  const int64_t n = x.numel();
  if (n == 0) return;
  cudaStream_t stream = detforge::cuda::current_stream(x.device().index);
  backward_kernel<T><<<detforge::cuda::blocks_for(n, kThreads), kThreads, 0, stream>>>(
      p, n, static_cast<const T*>(x.data_ptr()), static_cast<const T*>(y.data_ptr()),
      static_cast<const T*>(go.data_ptr()), gx.defined() ? static_cast<T*>(gx.data_ptr()) : nullptr,
      gy.defined() ? static_cast<T*>(gy.data_ptr()) : nullptr);
  DF_CUDA_KERNEL_CHECK();
}

void forward_cuda(const SigmoidFocalLossParams& p, const Tensor& out, const Tensor& x,
                  const Tensor& y) {
  DF_DISPATCH_FLOATING(x.dtype(), "sigmoid_focal_loss",
                       [&] { forward_typed<scalar_t>(p, out, x, y); });
}

void backward_cuda(const SigmoidFocalLossParams& p, const Tensor& gx, const Tensor& gy,
                   const Tensor& go, const Tensor& x, const Tensor& y) {
  DF_DISPATCH_FLOATING(x.dtype(), "sigmoid_focal_loss_backward",
                       [&] { backward_typed<scalar_t>(p, gx, gy, go, x, y); });
}

}  // namespace
DF_REGISTER_DISPATCH(sigmoid_focal_loss_forward_stub, CUDA, &forward_cuda);
DF_REGISTER_DISPATCH(sigmoid_focal_loss_backward_stub, CUDA, &backward_cuda);
}  // namespace detforge::kernels

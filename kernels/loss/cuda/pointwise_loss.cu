// CUDA kernels of the elementwise losses: the same DETFORGE_HD functors as the CPU path, a
// grid-stride loop, block sums in double and an on-device finaliser (no host sync).
#include "kernels/loss/cuda/loss_cuda.cuh"
#include "kernels/loss/pointwise_loss_ops.h"

namespace detforge::kernels {
namespace {
using namespace cuda_loss;

template <class T>
const T* ptr_or_null(const Tensor& t) {
  return t.defined() ? static_cast<const T*>(t.data_ptr()) : nullptr;
}

template <class T, class Op>
__global__ void forward_kernel(PointwiseLossParams p, int64_t n, const T* x, const T* y, const T* w,
                               const T* pw, T* out, double* partials) {
  using A = acc_t<T>;
  const Op op{};
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  double acc[1] = {0.0};
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += stride) {
    A v = op.forward(static_cast<A>(x[i]), static_cast<A>(y[i]), w ? static_cast<A>(w[i]) : A(1),
                     pw ? static_cast<A>(pw[i]) : A(1), p);
    if (partials)
      acc[0] += static_cast<double>(v);
    else
      out[i] = cast_to<T>(v);
  }
  if (!partials) return;
  block_sum<1>(acc);
  if (threadIdx.x == 0) partials[blockIdx.x] = acc[0];
}

template <class T, class Op>
__global__ void backward_kernel(PointwiseLossParams p, int64_t n, const T* x, const T* y,
                                const T* w, const T* pw, const T* g, T* gx, T* gy) {
  using A = acc_t<T>;
  const Op op{};
  const bool full = p.reduction == LossReduction::none;
  A g0 = full ? A(0) : static_cast<A>(g[0]);
  if (p.reduction == LossReduction::mean) g0 = g0 / static_cast<A>(n);
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += stride) {
    A dx, dy;
    op.backward(static_cast<A>(x[i]), static_cast<A>(y[i]), w ? static_cast<A>(w[i]) : A(1),
                pw ? static_cast<A>(pw[i]) : A(1), p, dx, dy);
    A gi = full ? static_cast<A>(g[i]) : g0;
    if (gx) gx[i] = cast_to<T>(gi * dx);
    if (gy) gy[i] = cast_to<T>(gi * dy);
  }
}

template <class T, class Op>
void forward_typed(const PointwiseLossParams& p, const Tensor& out, const Tensor& x,
                   const Tensor& y, const Tensor& w, const Tensor& pw) {
  const int64_t n = x.numel();
  cudaStream_t stream = detforge::cuda::current_stream(x.device().index);
  T* o = static_cast<T*>(out.data_ptr());
  if (p.reduction == LossReduction::none) {
    if (n == 0) return;
    forward_kernel<T, Op><<<detforge::cuda::blocks_for(n, kThreads), kThreads, 0, stream>>>(
        p, n, ptr_or_null<T>(x), ptr_or_null<T>(y), ptr_or_null<T>(w), ptr_or_null<T>(pw), o,
        nullptr);
    DF_CUDA_KERNEL_CHECK();
    return;
  }
  int blocks = reduce_blocks(n);
  Tensor partials = Tensor::empty({blocks}, DType::f64, x.device());  // caching allocator
  double* part = static_cast<double*>(partials.data_ptr());
  forward_kernel<T, Op><<<blocks, kThreads, 0, stream>>>(
      p, n, ptr_or_null<T>(x), ptr_or_null<T>(y), ptr_or_null<T>(w), ptr_or_null<T>(pw), o, part);
  DF_CUDA_KERNEL_CHECK();
  // mean of an empty tensor: 0 / 0 = NaN, as PyTorch.
  int64_t count = p.reduction == LossReduction::mean ? (n > 0 ? n : -1) : 0;
  finalize_kernel<T, float, 1><<<1, kThreads, 0, stream>>>(part, blocks, o, count, nullptr);
  DF_CUDA_KERNEL_CHECK();
}

template <class T, class Op>
void backward_typed(const PointwiseLossParams& p, const Tensor& gx, const Tensor& gy,
                    const Tensor& go, const Tensor& x, const Tensor& y, const Tensor& w,
                    const Tensor& pw) {
  const int64_t n = x.numel();
  if (n == 0) return;
  cudaStream_t stream = detforge::cuda::current_stream(x.device().index);
  backward_kernel<T, Op><<<detforge::cuda::blocks_for(n, kThreads), kThreads, 0, stream>>>(
      p, n, ptr_or_null<T>(x), ptr_or_null<T>(y), ptr_or_null<T>(w), ptr_or_null<T>(pw),
      ptr_or_null<T>(go), gx.defined() ? static_cast<T*>(gx.data_ptr()) : nullptr,
      gy.defined() ? static_cast<T*>(gy.data_ptr()) : nullptr);
  DF_CUDA_KERNEL_CHECK();
}

void forward_cuda(const PointwiseLossParams& p, const Tensor& out, const Tensor& x, const Tensor& y,
                  const Tensor& w, const Tensor& pw) {
  DF_DISPATCH_FLOATING(x.dtype(), "pointwise_loss", [&] {
    visit_pointwise_loss(
        p.kind, [&](auto op) { forward_typed<scalar_t, decltype(op)>(p, out, x, y, w, pw); });
  });
}

void backward_cuda(const PointwiseLossParams& p, const Tensor& gx, const Tensor& gy,
                   const Tensor& go, const Tensor& x, const Tensor& y, const Tensor& w,
                   const Tensor& pw) {
  DF_DISPATCH_FLOATING(x.dtype(), "pointwise_loss_backward", [&] {
    visit_pointwise_loss(p.kind, [&](auto op) {
      backward_typed<scalar_t, decltype(op)>(p, gx, gy, go, x, y, w, pw);
    });
  });
}

}  // namespace
DF_REGISTER_DISPATCH(pointwise_loss_forward_stub, CUDA, &forward_cuda);
DF_REGISTER_DISPATCH(pointwise_loss_backward_stub, CUDA, &backward_cuda);
}  // namespace detforge::kernels

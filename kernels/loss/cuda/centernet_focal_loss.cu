// CUDA centernet_heatmap_focal_loss: the DETFORGE_HD element math of the CPU path in grid-stride
// loops; the two sums (values, positives) as block partials in double, then a one-block finaliser
// writes -sum / max(num_pos, 1) and num_pos on the device (no host sync).
#include "kernels/loss/centernet_focal_loss.h"
#include "kernels/loss/cuda/loss_cuda.cuh"

namespace detforge::kernels {
namespace {
using namespace cuda_loss;

template <class T>
__global__ void forward_kernel(int64_t n, const T* x, const T* y, double* partials) {
  using A = acc_t<T>;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  double acc[2] = {0.0, 0.0};
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += stride) {
    A pos;
    A v = centernet_focal_value(static_cast<A>(x[i]), static_cast<A>(y[i]), pos);
    acc[0] += static_cast<double>(v);
    acc[1] += static_cast<double>(pos);
  }
  block_sum<2>(acc);
  if (threadIdx.x == 0) {
    partials[blockIdx.x] = acc[0];
    partials[gridDim.x + blockIdx.x] = acc[1];
  }
}

template <class T>
__global__ void finalize(const double* partials, int nblocks, T* out, double* num_pos) {
  double v[2] = {0.0, 0.0};
  for (int k = 0; k < 2; ++k)
    for (int i = threadIdx.x; i < nblocks; i += blockDim.x) v[k] += partials[k * nblocks + i];
  block_sum<2>(v);
  if (threadIdx.x == 0) {
    num_pos[0] = v[1];
    out[0] = cast_to<T>(-v[0] / (v[1] > 1.0 ? v[1] : 1.0));
  }
}

template <class T>
__global__ void backward_kernel(int64_t n, const T* x, const T* y, const T* g,
                                const double* num_pos, T* gx) {
  using A = acc_t<T>;
  const double np = num_pos[0];
  const A scale = static_cast<A>(-static_cast<double>(g[0]) / (np > 1.0 ? np : 1.0));
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n; i += stride)
    gx[i] = cast_to<T>(scale * centernet_focal_grad(static_cast<A>(x[i]), static_cast<A>(y[i])));
}

template <class T>
void forward_typed(const Tensor& out, const Tensor& num_pos, const Tensor& xt, const Tensor& yt) {
  const int64_t n = xt.numel();
  cudaStream_t stream = detforge::cuda::current_stream(xt.device().index);
  int blocks = reduce_blocks(n);
  Tensor partials = Tensor::empty({2 * blocks}, DType::f64, xt.device());  // caching allocator
  double* part = static_cast<double*>(partials.data_ptr());
  forward_kernel<T><<<blocks, kThreads, 0, stream>>>(n, static_cast<const T*>(xt.data_ptr()),
                                                     static_cast<const T*>(yt.data_ptr()), part);
  DF_CUDA_KERNEL_CHECK();
  finalize<T><<<1, kThreads, 0, stream>>>(part, blocks, static_cast<T*>(out.data_ptr()),
                                          static_cast<double*>(num_pos.data_ptr()));
  DF_CUDA_KERNEL_CHECK();
}

template <class T>
void backward_typed(const Tensor& gx, const Tensor& go, const Tensor& num_pos, const Tensor& x,
                    const Tensor& y) {
  const int64_t n = x.numel();
  if (n == 0) return;
  cudaStream_t stream = detforge::cuda::current_stream(x.device().index);
  backward_kernel<T><<<detforge::cuda::blocks_for(n, kThreads), kThreads, 0, stream>>>(
      n, static_cast<const T*>(x.data_ptr()), static_cast<const T*>(y.data_ptr()),
      static_cast<const T*>(go.data_ptr()), static_cast<const double*>(num_pos.data_ptr()),
      static_cast<T*>(gx.data_ptr()));
  DF_CUDA_KERNEL_CHECK();
}

void forward_cuda(const Tensor& out, const Tensor& num_pos, const Tensor& x, const Tensor& y) {
  DF_DISPATCH_FLOATING(x.dtype(), "centernet_heatmap_focal_loss",
                       [&] { forward_typed<scalar_t>(out, num_pos, x, y); });
}

void backward_cuda(const Tensor& gx, const Tensor& go, const Tensor& num_pos, const Tensor& x,
                   const Tensor& y) {
  DF_DISPATCH_FLOATING(x.dtype(), "centernet_heatmap_focal_loss_backward",
                       [&] { backward_typed<scalar_t>(gx, go, num_pos, x, y); });
}

}  // namespace
DF_REGISTER_DISPATCH(centernet_focal_forward_stub, CUDA, &forward_cuda);
DF_REGISTER_DISPATCH(centernet_focal_backward_stub, CUDA, &backward_cuda);
}  // namespace detforge::kernels

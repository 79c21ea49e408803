// CUDA kernels of the paired box losses: the same box_pair<K, true> as the CPU, a grid-stride
// loop, block sums in double and the losses' on-device finaliser (no host sync).
#include "kernels/detection/box_iou_loss.h"
#include "kernels/loss/cuda/loss_cuda.cuh"

namespace detforge::kernels {
namespace {
using namespace cuda_loss;

template <BoxIouKind K, class A>
__global__ void forward_kernel(int64_t n, const A* __restrict__ a, const A* __restrict__ b, A eps,
                               A eps_d, A* __restrict__ out, double* partials) {
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  double acc[1] = {0.0};
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += stride) {
    const A *x = a + i * 4, *y = b + i * 4;
    A v = box_pair<K, true, false, A>(x[0], x[1], x[2], x[3], y[0], y[1], y[2], y[3], eps, eps_d,
                                      A(0), nullptr, nullptr);
    if (partials)
      acc[0] += static_cast<double>(v);
    else
      out[i] = v;
  }
  if (!partials) return;
  block_sum<1>(acc);
  if (threadIdx.x == 0) partials[blockIdx.x] = acc[0];
}

template <BoxIouKind K, class A>
__global__ void backward_kernel(int64_t n, LossReduction red, const A* __restrict__ a,
                                const A* __restrict__ b, const A* __restrict__ g, A eps, A eps_d,
                                A* g1, A* g2) {
  const bool full = red == LossReduction::none;
  A g0 = full ? A(0) : g[0];
  if (red == LossReduction::mean) g0 /= static_cast<A>(n);
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < n;
       i += stride) {
    const A *x = a + i * 4, *y = b + i * 4;
    A ga[4], gb[4];
    box_pair<K, true, true, A>(x[0], x[1], x[2], x[3], y[0], y[1], y[2], y[3], eps, eps_d,
                               full ? g[i] : g0, ga, gb);
    for (int k = 0; k < 4; ++k) {
      if (g1) g1[i * 4 + k] = ga[k];
      if (g2) g2[i * 4 + k] = gb[k];
    }
  }
}

template <class F>
void dispatch_f32_f64(DType dt, const char* op, const F& f) {
  if (dt == DType::f32) return f(float{});
  if (dt == DType::f64) return f(double{});
  throw DTypeError(str_cat("[", op, "] dtype ", dtype_name(dt), " is not supported (f32, f64)"));
}

void forward_cuda(const BoxIouLossParams& p, const Tensor& out, const Tensor& b1,
                  const Tensor& b2) {
  const int64_t n = b1.numel() / 4;
  cudaStream_t stream = detforge::cuda::current_stream(b1.device().index);
  dispatch_f32_f64(b1.dtype(), "box_iou_loss", [&](auto z) {
    using A = decltype(z);
    const A *a = static_cast<const A*>(b1.data_ptr()), *b = static_cast<const A*>(b2.data_ptr());
    A* o = static_cast<A*>(out.data_ptr());
    const A eps = static_cast<A>(p.eps), eps_d = static_cast<A>(p.eps_d());
    visit_box_iou_kind(p.kind, [&](auto k) {
      constexpr BoxIouKind K = decltype(k)::value;
      if (p.reduction == LossReduction::none) {
        if (n == 0) return;
        forward_kernel<K, A><<<detforge::cuda::blocks_for(n, kThreads), kThreads, 0, stream>>>(
            n, a, b, eps, eps_d, o, nullptr);
        DF_CUDA_KERNEL_CHECK();
        return;
      }
      int blocks = reduce_blocks(n);
      Tensor partials = Tensor::empty({blocks}, DType::f64, b1.device());  // caching allocator
      double* part = static_cast<double*>(partials.data_ptr());
      forward_kernel<K, A><<<blocks, kThreads, 0, stream>>>(n, a, b, eps, eps_d, o, part);
      DF_CUDA_KERNEL_CHECK();
      // mean of no boxes is 0 (torchvision): a plain sum of the zero partials
      int64_t count = p.reduction == LossReduction::mean && n > 0 ? n : 0;
      finalize_kernel<A, float, 1><<<1, kThreads, 0, stream>>>(part, blocks, o, count, nullptr);
      DF_CUDA_KERNEL_CHECK();
    });
  });
}

void backward_cuda(const BoxIouLossParams& p, const Tensor& g1, const Tensor& g2, const Tensor& go,
                   const Tensor& b1, const Tensor& b2) {
  const int64_t n = b1.numel() / 4;
  if (n == 0) return;
  cudaStream_t stream = detforge::cuda::current_stream(b1.device().index);
  dispatch_f32_f64(b1.dtype(), "box_iou_loss_backward", [&](auto z) {
    using A = decltype(z);
    visit_box_iou_kind(p.kind, [&](auto k) {
      backward_kernel<decltype(k)::value, A>
          <<<detforge::cuda::blocks_for(n, kThreads), kThreads, 0, stream>>>(
              n, p.reduction, static_cast<const A*>(b1.data_ptr()),
              static_cast<const A*>(b2.data_ptr()), static_cast<const A*>(go.data_ptr()),
              static_cast<A>(p.eps), static_cast<A>(p.eps_d()),
              g1.defined() ? static_cast<A*>(g1.data_ptr()) : nullptr,
              g2.defined() ? static_cast<A*>(g2.data_ptr()) : nullptr);
      DF_CUDA_KERNEL_CHECK();
    });
  });
}

}  // namespace
DF_REGISTER_DISPATCH(box_iou_loss_forward_stub, CUDA, &forward_cuda);
DF_REGISTER_DISPATCH(box_iou_loss_backward_stub, CUDA, &backward_cuda);
}  // namespace detforge::kernels

// CUDA kernels of the pairwise IoU family: one thread per pair for the forward; the backward
// reduces each box's gradient over its row (boxes1) or column (boxes2) with one block per box
// and a fixed-order shared-memory tree (deterministic, no atomics). Same box_pair<> as the CPU.
#include "kernels/detection/box_iou.h"
#include "tensor/cuda/cuda_check.h"

namespace detforge::kernels {
namespace {

constexpr int kThreads = 256;

template <BoxIouKind K, class A>
__global__ void forward_kernel(int64_t N, int64_t M, const A* __restrict__ a,
                               const A* __restrict__ b, A eps, A* __restrict__ out) {
  const int64_t total = N * M, stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t t = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; t < total;
       t += stride) {
    const int64_t i = t / M, j = t - i * M;
    const A* x = a + i * 4;
    const A* y = b + j * 4;
    out[t] = box_pair<K, false, false, A>(x[0], x[1], x[2], x[3], y[0], y[1], y[2], y[3], eps, eps,
                                          A(0), nullptr, nullptr);
  }
}

// Block r computes the gradient of box r of `self` (boxes1 when kFirst, else boxes2) summed
// over all boxes of `other`.
template <BoxIouKind K, bool kFirst, class A>
__global__ void backward_kernel(int64_t N, int64_t M, const A* __restrict__ a,
                                const A* __restrict__ b, const A* __restrict__ g, A eps,
                                A* __restrict__ grad) {
  __shared__ A part[4][kThreads];
  const int64_t r = blockIdx.x;
  const int64_t other = kFirst ? M : N;
  A acc[4] = {A(0), A(0), A(0), A(0)};
  for (int64_t k = threadIdx.x; k < other; k += blockDim.x) {
    const int64_t i = kFirst ? r : k, j = kFirst ? k : r;
    const A* x = a + i * 4;
    const A* y = b + j * 4;
    A ga[4], gb[4];
    box_pair<K, false, true, A>(x[0], x[1], x[2], x[3], y[0], y[1], y[2], y[3], eps, eps,
                                g[i * M + j], ga, gb);
    for (int c = 0; c < 4; ++c) acc[c] += kFirst ? ga[c] : gb[c];
  }
  for (int c = 0; c < 4; ++c) part[c][threadIdx.x] = acc[c];
  __syncthreads();
  for (int s = kThreads / 2; s > 0; s >>= 1) {
    if (threadIdx.x < s)
      for (int c = 0; c < 4; ++c) part[c][threadIdx.x] += part[c][threadIdx.x + s];
    __syncthreads();
  }
  if (threadIdx.x < 4) grad[r * 4 + threadIdx.x] = part[threadIdx.x][0];
}

template <class F>
void dispatch_f32_f64(DType dt, const char* op, const F& f) {
  if (dt == DType::f32) return f(float{});
  if (dt == DType::f64) return f(double{});
  throw DTypeError(str_cat("[", op, "] dtype ", dtype_name(dt), " is not supported (f32, f64)"));
}

void forward_cuda(const BoxIouParams& p, const Tensor& out, const Tensor& b1, const Tensor& b2) {
  const int64_t N = b1.size(0), M = b2.size(0);
  if (N == 0 || M == 0) return;
  cudaStream_t stream = detforge::cuda::current_stream(b1.device().index);
  dispatch_f32_f64(b1.dtype(), "box_iou", [&](auto z) {
    using A = decltype(z);
    visit_box_iou_kind(p.kind, [&](auto k) {
      forward_kernel<decltype(k)::value, A>
          <<<detforge::cuda::blocks_for(N * M, kThreads), kThreads, 0, stream>>>(
              N, M, static_cast<const A*>(b1.data_ptr()), static_cast<const A*>(b2.data_ptr()),
              static_cast<A>(p.eps), static_cast<A*>(out.data_ptr()));
      DF_CUDA_KERNEL_CHECK();
    });
  });
}

void backward_cuda(const BoxIouParams& p, const Tensor& g1, const Tensor& g2, const Tensor& go,
                   const Tensor& b1, const Tensor& b2) {
  const int64_t N = b1.size(0), M = b2.size(0);
  cudaStream_t stream = detforge::cuda::current_stream(b1.device().index);
  dispatch_f32_f64(b1.dtype(), "box_iou_backward", [&](auto z) {
    using A = decltype(z);
    const A* a = static_cast<const A*>(b1.data_ptr());
    const A* b = static_cast<const A*>(b2.data_ptr());
    const A* g = static_cast<const A*>(go.data_ptr());
    visit_box_iou_kind(p.kind, [&](auto k) {
      constexpr BoxIouKind K = decltype(k)::value;
      if (g1.defined() && N > 0) {
        backward_kernel<K, true, A><<<static_cast<unsigned>(N), kThreads, 0, stream>>>(
            N, M, a, b, g, static_cast<A>(p.eps), static_cast<A*>(g1.data_ptr()));
        DF_CUDA_KERNEL_CHECK();
      }
      if (g2.defined() && M > 0) {
        backward_kernel<K, false, A><<<static_cast<unsigned>(M), kThreads, 0, stream>>>(
            N, M, a, b, g, static_cast<A>(p.eps), static_cast<A*>(g2.data_ptr()));
        DF_CUDA_KERNEL_CHECK();
      }
    });
  });
}

}  // namespace
DF_REGISTER_DISPATCH(box_iou_forward_stub, CUDA, &forward_cuda);
DF_REGISTER_DISPATCH(box_iou_backward_stub, CUDA, &backward_cuda);
}  // namespace detforge::kernels

// CUDA cross_entropy: one thread per row calling the shared DETFORGE_HD row functions (adjacent
// threads read adjacent spatial positions, so [N, C, H, W] loads coalesce), block sums of loss
// and normaliser in double, and an on-device finaliser: no host sync. Out-of-range targets give
// NaN here (no device-side assert); the CPU path reports them as errors.
// total_weight and lse are of acc_t<T> (= loss_acc_dtype of the input dtype).
#include "kernels/loss/cross_entropy.h"
#include "kernels/loss/cuda/loss_cuda.cuh"

namespace detforge::kernels {
namespace {
using namespace cuda_loss;

template <class T>
__global__ void ce_forward_kernel(CrossEntropyParams p, const T* x, const int64_t* ti, const T* tp,
                                  const T* w, T* out_rows, acc_t<T>* lse, double* partials) {
  using A = acc_t<T>;
  const int64_t C = p.C, S = p.S, rows = p.N * p.S;
  const A ls = static_cast<A>(p.label_smoothing);
  double acc[2] = {0.0, 0.0};
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t r = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; r < rows;
       r += stride) {
    int64_t n = r / S, s = r - n * S;
    int64_t base = n * C * S + s;
    CeRowResult<A> rr =
        p.prob_target
            ? ce_prob_row_forward<A>(x + base, tp + base, S, C, w, ls, lse + r)
            : ce_index_row_forward<A>(x + base, S, C, ti[r], w, ls, p.ignore_index, lse + r);
    if (out_rows) out_rows[r] = cast_to<T>(rr.loss);
    acc[0] += static_cast<double>(rr.loss);
    acc[1] += static_cast<double>(rr.weight);
  }
  block_sum<2>(acc);
  if (threadIdx.x == 0) {
    partials[blockIdx.x] = acc[0];
    partials[gridDim.x + blockIdx.x] = acc[1];
  }
}

template <class T>
__global__ void ce_backward_kernel(CrossEntropyParams p, const T* x, const int64_t* ti, const T* tp,
                                   const T* w, const T* g, const acc_t<T>* tw, const acc_t<T>* lse,
                                   T* gx, T* gp) {
  using A = acc_t<T>;
  const int64_t C = p.C, S = p.S, rows = p.N * p.S;
  const A ls = static_cast<A>(p.label_smoothing);
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t r = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; r < rows;
       r += stride) {
    int64_t n = r / S, s = r - n * S;
    int64_t base = n * C * S + s;
    A scale = ce_grad_scale<A>(p.reduction, g, tw, r);
    if (p.prob_target)
      ce_prob_row_backward<A>(x + base, tp + base, S, C, w, ls, lse[r], scale, gx + base,
                              gp ? gp + base : nullptr);
    else
      ce_index_row_backward<A>(x + base, S, C, ti[r], w, ls, p.ignore_index, lse[r], scale,
                               gx + base);
  }
}

template <class T>
void forward_typed(const CrossEntropyParams& p, const Tensor& out, const Tensor& total_weight,
                   const Tensor& lse, const Tensor& in, const Tensor& tg, const Tensor& wt) {
  using A = acc_t<T>;
  const int64_t rows = p.N * p.S;
  cudaStream_t stream = detforge::cuda::current_stream(in.device().index);
  const T* x = static_cast<const T*>(in.data_ptr());
  const T* w = wt.defined() ? static_cast<const T*>(wt.data_ptr()) : nullptr;
  const int64_t* ti = p.prob_target ? nullptr : static_cast<const int64_t*>(tg.data_ptr());
  const T* tp = p.prob_target ? static_cast<const T*>(tg.data_ptr()) : nullptr;
  const bool none = p.reduction == LossReduction::none;
  T* o = static_cast<T*>(out.data_ptr());
  int blocks = reduce_blocks(rows);
  Tensor partials = Tensor::empty({2 * blocks}, DType::f64, in.device());  // caching allocator
  double* part = static_cast<double*>(partials.data_ptr());
  ce_forward_kernel<T><<<blocks, kThreads, 0, stream>>>(p, x, ti, tp, w, none ? o : nullptr,
                                                        static_cast<A*>(lse.data_ptr()), part);
  DF_CUDA_KERNEL_CHECK();
  int64_t count = p.reduction == LossReduction::mean ? -1 : 0;
  finalize_kernel<T, A, 2><<<1, kThreads, 0, stream>>>(part, blocks, none ? nullptr : o, count,
                                                       static_cast<A*>(total_weight.data_ptr()));
  DF_CUDA_KERNEL_CHECK();
}

template <class T>
void backward_typed(const CrossEntropyParams& p, const Tensor& gin, const Tensor& gtg,
                    const Tensor& gout, const Tensor& total_weight, const Tensor& lse,
                    const Tensor& in, const Tensor& tg, const Tensor& wt) {
  using A = acc_t<T>;
  const int64_t rows = p.N * p.S;
  if (rows == 0) return;
  cudaStream_t stream = detforge::cuda::current_stream(in.device().index);
  ce_backward_kernel<T><<<detforge::cuda::blocks_for(rows, kThreads), kThreads, 0, stream>>>(
      p, static_cast<const T*>(in.data_ptr()),
      p.prob_target ? nullptr : static_cast<const int64_t*>(tg.data_ptr()),
      p.prob_target ? static_cast<const T*>(tg.data_ptr()) : nullptr,
      wt.defined() ? static_cast<const T*>(wt.data_ptr()) : nullptr,
      static_cast<const T*>(gout.data_ptr()), static_cast<const A*>(total_weight.data_ptr()),
      static_cast<const A*>(lse.data_ptr()), static_cast<T*>(gin.data_ptr()),
      gtg.defined() ? static_cast<T*>(gtg.data_ptr()) : nullptr);
  DF_CUDA_KERNEL_CHECK();
}

void forward_cuda(const CrossEntropyParams& p, const Tensor& out, const Tensor& total_weight,
                  const Tensor& lse, const Tensor& in, const Tensor& tg, const Tensor& w) {
  DF_DISPATCH_FLOATING(in.dtype(), "cross_entropy",
                       [&] { forward_typed<scalar_t>(p, out, total_weight, lse, in, tg, w); });
}

void backward_cuda(const CrossEntropyParams& p, const Tensor& gin, const Tensor& gtg,
                   const Tensor& gout, const Tensor& total_weight, const Tensor& lse,
                   const Tensor& in, const Tensor& tg, const Tensor& w) {
  DF_DISPATCH_FLOATING(in.dtype(), "cross_entropy_backward", [&] {
    backward_typed<scalar_t>(p, gin, gtg, gout, total_weight, lse, in, tg, w);
  });
}

}  // namespace
DF_REGISTER_DISPATCH(cross_entropy_forward_stub, CUDA, &forward_cuda);
DF_REGISTER_DISPATCH(cross_entropy_backward_stub, CUDA, &backward_cuda);
}  // namespace detforge::kernels

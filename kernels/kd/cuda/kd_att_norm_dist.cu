// CUDA kd_att_norm_dist: one block (256 threads) per sample running the shared per-sample chain of
// kd_att_norm_dist.h with a block context (strided loops, __syncthreads, warp-shuffle block
// all-reduces from kd_cuda.cuh) over a global-memory scratch [N, and_scratch(C, HW)] in the
// accumulator type. Forward: per-sample values, then one finishing block divides their sum on the
// device (no host sync). Backward: the same blocks recompute the sample's forward and write the
// student gradient. Reductions over contiguous rows (catt sums, norm_HW statistics, KL rows) use a
// warp per row, over columns (satt sums, norm_C statistics) a thread per column; the elementwise
// steps use the whole block.
#include "kernels/kd/cuda/kd_cuda.cuh"
#include "kernels/kd/kd_att_norm_dist_sample.h"

namespace detforge::kernels {
namespace {
using namespace kd_cuda;

struct BlockCtx {
  static constexpr bool kSerial = false;
  int64_t tid, nt, warp, nwarps, lane, lanes;
  DETFORGE_HD void sync() {
#ifdef __CUDA_ARCH__
    __syncthreads();
#endif
  }
  DETFORGE_HD double sum(double v) {
#ifdef __CUDA_ARCH__
    double a[1] = {v};
    block_sum_all<1>(a);
    return a[0];
#else
    return v;
#endif
  }
  // sums / maxima over the 32 lanes of a warp (all lanes get the result; the whole warp calls)
  DETFORGE_HD double warp_sum(double v) {
#ifdef __CUDA_ARCH__
    for (int off = 16; off > 0; off >>= 1) v += __shfl_xor_sync(0xffffffffu, v, off);
#endif
    return v;
  }
  DETFORGE_HD double warp_max(double v) {
#ifdef __CUDA_ARCH__
    for (int off = 16; off > 0; off >>= 1) {
      const double o = __shfl_xor_sync(0xffffffffu, v, off);
      v = o > v || o != o ? o : v;
    }
#endif
    return v;
  }
  DETFORGE_HD double max(double v) {
#ifdef __CUDA_ARCH__
    return block_max_all<double>(v);
#else
    return v;
#endif
  }
};

__device__ inline BlockCtx block_ctx() {
  const int64_t t = threadIdx.x, n = blockDim.x;
  return BlockCtx{t, n, t / 32, n / 32, t % 32, 32};
}

template <class T, class A>
__global__ void forward_kernel(KdAttNormDistParams p, int64_t c, int64_t hw, int64_t per,
                               const T* s, const T* t, A* scratch, double* rows) {
  const int64_t r = blockIdx.x, m = c * hw;
  BlockCtx cx = block_ctx();
  const double v =
      kd::and_forward_sample<T, A>(cx, p, s + r * m, t + r * m, scratch + r * per, c, hw);
  if (threadIdx.x == 0) rows[r] = v;
}

template <class T, class A>
__global__ void backward_kernel(KdAttNormDistParams p, int64_t c, int64_t hw, int64_t per,
                                double denom, const T* g, const T* s, const T* t, T* gs,
                                A* scratch) {
  const int64_t r = blockIdx.x, m = c * hw;
  BlockCtx cx = block_ctx();
  const double scale = static_cast<double>(static_cast<A>(g[0])) / denom;
  kd::and_backward_sample<T, A>(cx, p, s + r * m, t + r * m, gs + r * m, scratch + r * per, c, hw,
                                scale);
}

template <class A>
Tensor scratch_for(int64_t n, int64_t c, int64_t hw, Device dev) {
  return Tensor::empty({n, kd::and_scratch<A>(c, hw)}, sizeof(A) == 8 ? DType::f64 : DType::f32,
                       dev);
}

template <class T>
void forward_typed(const KdAttNormDistParams& p, const Tensor& out, const Tensor& st,
                   const Tensor& tt, int64_t n, int64_t c, int64_t hw) {
  using A = acc_t<T>;
  cudaStream_t stream = detforge::cuda::current_stream(st.device().index);
  Tensor rows = Tensor::empty({n}, DType::f64, st.device());
  double* rp = static_cast<double*>(rows.data_ptr());
  if (n > 0) {
    Tensor scratch = scratch_for<A>(n, c, hw, st.device());
    forward_kernel<T, A><<<static_cast<unsigned>(n), kThreads, 0, stream>>>(
        p, c, hw, kd::and_scratch<A>(c, hw), static_cast<const T*>(st.data_ptr()),
        static_cast<const T*>(tt.data_ptr()), static_cast<A*>(scratch.data_ptr()), rp);
    DF_CUDA_KERNEL_CHECK();
  }
  cuda_loss::finalize_kernel<T, float, 1>
      <<<1, kThreads, 0, stream>>>(rp, static_cast<int>(n), static_cast<T*>(out.data_ptr()),
                                   n > 0 ? kd::and_denominator(p, n, c, hw) : -1, nullptr);
  DF_CUDA_KERNEL_CHECK();
}

template <class T>
void backward_typed(const KdAttNormDistParams& p, const Tensor& gs, const Tensor& go,
                    const Tensor& st, const Tensor& tt, int64_t n, int64_t c, int64_t hw) {
  using A = acc_t<T>;
  if (n == 0 || c * hw == 0) return;
  cudaStream_t stream = detforge::cuda::current_stream(st.device().index);
  Tensor scratch = scratch_for<A>(n, c, hw, st.device());
  backward_kernel<T, A><<<static_cast<unsigned>(n), kThreads, 0, stream>>>(
      p, c, hw, kd::and_scratch<A>(c, hw), static_cast<double>(kd::and_denominator(p, n, c, hw)),
      static_cast<const T*>(go.data_ptr()), static_cast<const T*>(st.data_ptr()),
      static_cast<const T*>(tt.data_ptr()), static_cast<T*>(gs.data_ptr()),
      static_cast<A*>(scratch.data_ptr()));
  DF_CUDA_KERNEL_CHECK();
}

void forward_cuda(const KdAttNormDistParams& p, const Tensor& out, const Tensor& s, const Tensor& t,
                  int64_t n, int64_t c, int64_t hw) {
  DF_DISPATCH_FLOATING(s.dtype(), "kd_att_norm_dist",
                       [&] { forward_typed<scalar_t>(p, out, s, t, n, c, hw); });
}
void backward_cuda(const KdAttNormDistParams& p, const Tensor& gs, const Tensor& go,
                   const Tensor& s, const Tensor& t, int64_t n, int64_t c, int64_t hw) {
  DF_DISPATCH_FLOATING(s.dtype(), "kd_att_norm_dist_backward",
                       [&] { backward_typed<scalar_t>(p, gs, go, s, t, n, c, hw); });
}

}  // namespace
DF_REGISTER_DISPATCH(kd_att_norm_dist_forward_stub, CUDA, &forward_cuda);
DF_REGISTER_DISPATCH(kd_att_norm_dist_backward_stub, CUDA, &backward_cuda);
}  // namespace detforge::kernels

// CUDA kd_soft_ce: one block per row. Max pass, then the exp sums (the row's second read hits
// L2), block reductions broadcast to the block; the per-row losses go to a buffer that one block
// averages in double on the device (no host sync). The backward recomputes the row statistics
// in the same block and writes (q - p) g / (N T).
#include <cfloat>

#include "kernels/kd/cuda/kd_cuda.cuh"
#include "kernels/kd/kd_soft_ce.h"

namespace detforge::kernels {
namespace {
using namespace kd_cuda;

template <class T>
__device__ kd::SoftCeRow<acc_t<T>> row_stats(const T* s, const T* t, int64_t c, acc_t<T> inv_t) {
  using A = acc_t<T>;
  A ms = -INFINITY, mt = -INFINITY;
  for (int64_t i = threadIdx.x; i < c; i += blockDim.x) {
    A a = static_cast<A>(s[i]) * inv_t, b = static_cast<A>(t[i]) * inv_t;
    ms = a > ms ? a : ms;
    mt = b > mt ? b : mt;
  }
  ms = block_max_all(ms);
  mt = block_max_all(mt);
  if (ms == -INFINITY) ms = A(0);
  if (mt == -INFINITY) mt = A(0);
  double acc[3] = {0.0, 0.0, 0.0};
  for (int64_t i = threadIdx.x; i < c; i += blockDim.x) {
    A a = static_cast<A>(s[i]) * inv_t, b = static_cast<A>(t[i]) * inv_t;
    A e = dmath::exp(b - mt);
    acc[0] += static_cast<double>(dmath::exp(a - ms));
    acc[1] += static_cast<double>(e);
    acc[2] += static_cast<double>(e * a);
  }
  block_sum_all<3>(acc);
  return {ms, mt, static_cast<A>(acc[0]), static_cast<A>(acc[1]), static_cast<A>(acc[2])};
}

template <class T>
__global__ void forward_kernel(int64_t c, acc_t<T> inv_t, const T* s, const T* t, double* rows) {
  const int64_t r = blockIdx.x;
  auto st = row_stats(s + r * c, t + r * c, c, inv_t);
  if (threadIdx.x == 0) rows[r] = c == 0 ? 0.0 : static_cast<double>(kd::soft_ce_row_loss(st));
}

template <class T>
__global__ void backward_kernel(int64_t n, int64_t c, acc_t<T> inv_t, const T* s, const T* t,
                                const T* g, T* gs) {
  using A = acc_t<T>;
  const int64_t r = blockIdx.x;
  const T* sr = s + r * c;
  const T* tr = t + r * c;
  auto st = row_stats(sr, tr, c, inv_t);
  const A scale = static_cast<A>(static_cast<double>(static_cast<A>(g[0])) / n) * inv_t;
  for (int64_t i = threadIdx.x; i < c; i += blockDim.x) {
    A a = static_cast<A>(sr[i]) * inv_t, b = static_cast<A>(tr[i]) * inv_t;
    A q = dmath::exp(a - st.ms) / st.zs, p = dmath::exp(b - st.mt) / st.zt;
    gs[r * c + i] = cast_to<T>(scale * (q - p));
  }
}

template <class T>
void forward_typed(const KdSoftCeParams& p, const Tensor& out, const Tensor& st, const Tensor& tt) {
  const int64_t n = st.size(0), c = st.size(1);
  cudaStream_t stream = detforge::cuda::current_stream(st.device().index);
  Tensor rows = Tensor::empty({n}, DType::f64, st.device());
  double* rp = static_cast<double*>(rows.data_ptr());
  if (n > 0) {
    forward_kernel<T><<<static_cast<unsigned>(n), kThreads, 0, stream>>>(
        c, static_cast<acc_t<T>>(1.0 / p.temperature), static_cast<const T*>(st.data_ptr()),
        static_cast<const T*>(tt.data_ptr()), rp);
    DF_CUDA_KERNEL_CHECK();
  }
  // mean over rows in one block (N == 0: NaN, as torch .mean()).
  cuda_loss::finalize_kernel<T, float, 1><<<1, kThreads, 0, stream>>>(
      rp, static_cast<int>(n), static_cast<T*>(out.data_ptr()), n > 0 ? n : -1, nullptr);
  DF_CUDA_KERNEL_CHECK();
}

template <class T>
void backward_typed(const KdSoftCeParams& p, const Tensor& gs, const Tensor& go, const Tensor& st,
                    const Tensor& tt) {
  const int64_t n = st.size(0), c = st.size(1);
  if (n == 0 || c == 0) return;
  cudaStream_t stream = detforge::cuda::current_stream(st.device().index);
  backward_kernel<T><<<static_cast<unsigned>(n), kThreads, 0, stream>>>(
      n, c, static_cast<acc_t<T>>(1.0 / p.temperature), static_cast<const T*>(st.data_ptr()),
      static_cast<const T*>(tt.data_ptr()), static_cast<const T*>(go.data_ptr()),
      static_cast<T*>(gs.data_ptr()));
  DF_CUDA_KERNEL_CHECK();
}

void forward_cuda(const KdSoftCeParams& p, const Tensor& out, const Tensor& s, const Tensor& t) {
  DF_DISPATCH_FLOATING(s.dtype(), "kd_soft_ce", [&] { forward_typed<scalar_t>(p, out, s, t); });
}
void backward_cuda(const KdSoftCeParams& p, const Tensor& gs, const Tensor& go, const Tensor& s,
                   const Tensor& t) {
  DF_DISPATCH_FLOATING(s.dtype(), "kd_soft_ce_backward",
                       [&] { backward_typed<scalar_t>(p, gs, go, s, t); });
}

}  // namespace
DF_REGISTER_DISPATCH(kd_soft_ce_forward_stub, CUDA, &forward_cuda);
DF_REGISTER_DISPATCH(kd_soft_ce_backward_stub, CUDA, &backward_cuda);
}  // namespace detforge::kernels

// CUDA kd_ssim: one block per (n, c) map accumulating the five shifted moments in double (block
// reduction), thread 0 writes the map's statistics and 1 - SSIM; one block averages over the
// maps on the device (no host sync). Backward: a grid-stride elementwise pass over the saved
// statistics.
#include "kernels/kd/cuda/kd_cuda.cuh"
#include "kernels/kd/kd_ssim.h"

namespace detforge::kernels {
namespace {
using namespace kd_cuda;

template <class T>
__global__ void forward_kernel(int64_t d, double c1, double c2, const T* s, const T* t,
                               double* stats, double* rows) {
  const int64_t r = blockIdx.x;
  const T* x = s + r * d;
  const T* y = t + r * d;
  const double x0 = static_cast<double>(static_cast<acc_t<T>>(x[0]));
  const double y0 = static_cast<double>(static_cast<acc_t<T>>(y[0]));
  double acc[5] = {0.0, 0.0, 0.0, 0.0, 0.0};
  for (int64_t i = threadIdx.x; i < d; i += blockDim.x) {
    double u = static_cast<double>(static_cast<acc_t<T>>(x[i])) - x0;
    double v = static_cast<double>(static_cast<acc_t<T>>(y[i])) - y0;
    acc[0] += u;
    acc[1] += v;
    acc[2] += u * u;
    acc[3] += v * v;
    acc[4] += u * v;
  }
  cuda_loss::block_sum<5>(acc);
  if (threadIdx.x == 0) {
    double* st = stats + r * kd::kSsimStats;
    kd::ssim_stats(acc[0], acc[1], acc[2], acc[3], acc[4], x0, y0, d, c1, c2, st);
    rows[r] = 1.0 - st[5];
  }
}

template <class T>
__global__ void backward_kernel(int64_t total, int64_t n, int64_t d, const double* stats,
                                const T* s, const T* t, const T* g, T* gs) {
  using A = acc_t<T>;
  const A scale = static_cast<A>(-static_cast<double>(static_cast<A>(g[0])) / n);
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += stride) {
    const double* q = stats + (i / d) * kd::kSsimStats;
    gs[i] = cast_to<T>(scale * kd::ssim_grad(static_cast<A>(s[i]), static_cast<A>(t[i]), q));
  }
}

template <class T>
void forward_typed(const KdSsimParams& p, const Tensor& out, const Tensor& stats, const Tensor& st,
                   const Tensor& tt, int64_t n) {
  cudaStream_t stream = detforge::cuda::current_stream(st.device().index);
  Tensor rows = Tensor::empty({n}, DType::f64, st.device());
  double* rp = static_cast<double*>(rows.data_ptr());
  if (n > 0) {
    forward_kernel<T><<<static_cast<unsigned>(n), kThreads, 0, stream>>>(
        st.numel() / n, p.c1, p.c2, static_cast<const T*>(st.data_ptr()),
        static_cast<const T*>(tt.data_ptr()), static_cast<double*>(stats.data_ptr()), rp);
    DF_CUDA_KERNEL_CHECK();
  }
  cuda_loss::finalize_kernel<T, float, 1><<<1, kThreads, 0, stream>>>(
      rp, static_cast<int>(n), static_cast<T*>(out.data_ptr()), n > 0 ? n : -1, nullptr);
  DF_CUDA_KERNEL_CHECK();
}

template <class T>
void backward_typed(const KdSsimParams&, const Tensor& gs, const Tensor& go, const Tensor& stats,
                    const Tensor& st, const Tensor& tt, int64_t n) {
  const int64_t total = st.numel();
  if (n == 0 || total == 0) return;
  cudaStream_t stream = detforge::cuda::current_stream(st.device().index);
  backward_kernel<T><<<detforge::cuda::blocks_for(total, kThreads), kThreads, 0, stream>>>(
      total, n, total / n, static_cast<const double*>(stats.data_ptr()),
      static_cast<const T*>(st.data_ptr()), static_cast<const T*>(tt.data_ptr()),
      static_cast<const T*>(go.data_ptr()), static_cast<T*>(gs.data_ptr()));
  DF_CUDA_KERNEL_CHECK();
}

void forward_cuda(const KdSsimParams& p, const Tensor& out, const Tensor& stats, const Tensor& s,
                  const Tensor& t, int64_t n) {
  DF_DISPATCH_FLOATING(s.dtype(), "kd_ssim",
                       [&] { forward_typed<scalar_t>(p, out, stats, s, t, n); });
}
void backward_cuda(const KdSsimParams& p, const Tensor& gs, const Tensor& go, const Tensor& stats,
                   const Tensor& s, const Tensor& t, int64_t n) {
  DF_DISPATCH_FLOATING(s.dtype(), "kd_ssim_backward",
                       [&] { backward_typed<scalar_t>(p, gs, go, stats, s, t, n); });
}

}  // namespace
DF_REGISTER_DISPATCH(kd_ssim_forward_stub, CUDA, &forward_cuda);
DF_REGISTER_DISPATCH(kd_ssim_backward_stub, CUDA, &backward_cuda);
}  // namespace detforge::kernels

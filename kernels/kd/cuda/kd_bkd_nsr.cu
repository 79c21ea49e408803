// CUDA kd_bkd_nsr: one block per channel walking its N runs of `inner` values, three double
// accumulators reduced in the block; thread 0 writes the channel weight and ratio; one block
// averages the ratios on the device (no host sync). Backward: grid-stride elementwise pass.
#include "kernels/kd/cuda/kd_cuda.cuh"
#include "kernels/kd/kd_bkd_nsr.h"

namespace detforge::kernels {
namespace {
using namespace kd_cuda;

template <class T>
__global__ void forward_kernel(int64_t n, int64_t c, int64_t inner, double eps, const T* s,
                               const T* t, double* w, double* ratio) {
  const int64_t ch = blockIdx.x;
  const int64_t m = n * inner;
  const double t0 = m > 0 ? static_cast<double>(static_cast<acc_t<T>>(t[ch * inner])) : 0.0;
  double acc[3] = {0.0, 0.0, 0.0};
  for (int64_t k = 0; k < n; ++k) {
    const T* x = s + (k * c + ch) * inner;
    const T* y = t + (k * c + ch) * inner;
    for (int64_t i = threadIdx.x; i < inner; i += blockDim.x) {
      double yv = static_cast<double>(static_cast<acc_t<T>>(y[i]));
      double diff = yv - static_cast<double>(static_cast<acc_t<T>>(x[i])), v = yv - t0;
      acc[0] += diff * diff;
      acc[1] += v;
      acc[2] += v * v;
    }
  }
  cuda_loss::block_sum<3>(acc);
  if (threadIdx.x == 0) ratio[ch] = kd::nsr_channel(acc[0], acc[1], acc[2], m, eps, w + ch);
}

template <class T>
__global__ void backward_kernel(int64_t total, int64_t c, int64_t inner, const double* w,
                                const T* s, const T* t, const T* g, T* gs) {
  using A = acc_t<T>;
  const double g0 = static_cast<double>(static_cast<A>(g[0])) / c;
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += stride) {
    const A wc = static_cast<A>(g0 * w[(i / inner) % c]);
    gs[i] = cast_to<T>(kd::nsr_grad(static_cast<A>(s[i]), static_cast<A>(t[i]), wc));
  }
}

template <class T>
void forward_typed(const KdBkdNsrParams& p, const Tensor& out, const Tensor& w, const Tensor& st,
                   const Tensor& tt, int64_t n, int64_t c, int64_t inner) {
  cudaStream_t stream = detforge::cuda::current_stream(st.device().index);
  Tensor ratio = Tensor::empty({c}, DType::f64, st.device());
  double* rp = static_cast<double*>(ratio.data_ptr());
  if (c > 0) {
    forward_kernel<T><<<static_cast<unsigned>(c), kThreads, 0, stream>>>(
        n, c, inner, p.eps, static_cast<const T*>(st.data_ptr()),
        static_cast<const T*>(tt.data_ptr()), static_cast<double*>(w.data_ptr()), rp);
    DF_CUDA_KERNEL_CHECK();
  }
  cuda_loss::finalize_kernel<T, float, 1><<<1, kThreads, 0, stream>>>(
      rp, static_cast<int>(c), static_cast<T*>(out.data_ptr()), c > 0 ? c : -1, nullptr);
  DF_CUDA_KERNEL_CHECK();
}

template <class T>
void backward_typed(const KdBkdNsrParams&, const Tensor& gs, const Tensor& go, const Tensor& w,
                    const Tensor& st, const Tensor& tt, int64_t, int64_t c, int64_t inner) {
  const int64_t total = st.numel();
  if (total == 0) return;
  cudaStream_t stream = detforge::cuda::current_stream(st.device().index);
  backward_kernel<T><<<detforge::cuda::blocks_for(total, kThreads), kThreads, 0, stream>>>(
      total, c, inner, static_cast<const double*>(w.data_ptr()),
      static_cast<const T*>(st.data_ptr()), static_cast<const T*>(tt.data_ptr()),
      static_cast<const T*>(go.data_ptr()), static_cast<T*>(gs.data_ptr()));
  DF_CUDA_KERNEL_CHECK();
}

void forward_cuda(const KdBkdNsrParams& p, const Tensor& out, const Tensor& w, const Tensor& s,
                  const Tensor& t, int64_t n, int64_t c, int64_t inner) {
  DF_DISPATCH_FLOATING(s.dtype(), "kd_bkd_nsr",
                       [&] { forward_typed<scalar_t>(p, out, w, s, t, n, c, inner); });
}
void backward_cuda(const KdBkdNsrParams& p, const Tensor& gs, const Tensor& go, const Tensor& w,
                   const Tensor& s, const Tensor& t, int64_t n, int64_t c, int64_t inner) {
  DF_DISPATCH_FLOATING(s.dtype(), "kd_bkd_nsr_backward",
                       [&] { backward_typed<scalar_t>(p, gs, go, w, s, t, n, c, inner); });
}

}  // namespace
DF_REGISTER_DISPATCH(kd_bkd_nsr_forward_stub, CUDA, &forward_cuda);
DF_REGISTER_DISPATCH(kd_bkd_nsr_backward_stub, CUDA, &backward_cuda);
}  // namespace detforge::kernels

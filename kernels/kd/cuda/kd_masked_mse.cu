// CUDA kd_masked_mse: one block per (n, c) row accumulating FG, BG (and the mask area on c == 0
// rows) in double; per-row partials [3][N*C] summed by one finishing block on the device, which
// writes the loss and the saved weights (no host sync). Backward: grid-stride elementwise pass.
#include "kernels/kd/cuda/kd_cuda.cuh"
#include "kernels/kd/kd_masked_mse.h"

namespace detforge::kernels {
namespace {
using namespace kd_cuda;

template <class T>
__global__ void rows_kernel(int64_t rows, int64_t c, int64_t inner, const T* s, const T* t,
                            const T* m, double* part) {
  const int64_t row = blockIdx.x;
  const T* x = s + row * inner;
  const T* y = t + row * inner;
  const T* mk = m + (row / c) * inner;
  const bool count = row % c == 0;
  double acc[3] = {0.0, 0.0, 0.0};
  for (int64_t i = threadIdx.x; i < inner; i += blockDim.x) {
    double d = static_cast<double>(static_cast<acc_t<T>>(x[i])) -
               static_cast<double>(static_cast<acc_t<T>>(y[i]));
    double mv = static_cast<double>(static_cast<acc_t<T>>(mk[i]));
    acc[0] += mv * d * d;
    acc[1] += (1.0 - mv) * d * d;
    if (count) acc[2] += mv;
  }
  cuda_loss::block_sum<3>(acc);
  if (threadIdx.x == 0)
    for (int k = 0; k < 3; ++k) part[k * rows + row] = acc[k];
}

template <class T>
__global__ void finish_kernel(KdMaskedMseParams p, const double* part, int64_t rows, int64_t m,
                              int64_t c, T* out, double* w) {
  double acc[3] = {0.0, 0.0, 0.0};
  for (int k = 0; k < 3; ++k)
    for (int64_t i = threadIdx.x; i < rows; i += blockDim.x) acc[k] += part[k * rows + i];
  cuda_loss::block_sum<3>(acc);
  if (threadIdx.x == 0)
    out[0] = cast_to<T>(kd::masked_mse_finish(p, acc[0], acc[1], acc[2], m, c, w));
}

template <class T>
__global__ void backward_kernel(int64_t total, int64_t c, int64_t inner, const double* w,
                                const T* s, const T* t, const T* m, const T* g, T* gs) {
  using A = acc_t<T>;
  const double g0 = static_cast<double>(static_cast<A>(g[0]));
  const A wfg = static_cast<A>(g0 * w[0]), wbg = static_cast<A>(g0 * w[1]);
  const int64_t stride = static_cast<int64_t>(gridDim.x) * blockDim.x;
  for (int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x; i < total;
       i += stride) {
    const int64_t row = i / inner, k = i - row * inner;
    const A mv = static_cast<A>(m[(row / c) * inner + k]);
    gs[i] =
        cast_to<T>(kd::masked_mse_grad(static_cast<A>(s[i]), static_cast<A>(t[i]), mv, wfg, wbg));
  }
}

template <class T>
void forward_typed(const KdMaskedMseParams& p, const Tensor& out, const Tensor& w, const Tensor& st,
                   const Tensor& tt, const Tensor& mt, int64_t n, int64_t c, int64_t inner) {
  cudaStream_t stream = detforge::cuda::current_stream(st.device().index);
  const int64_t rows = n * c;
  Tensor part = Tensor::empty({3 * rows}, DType::f64, st.device());
  double* pp = static_cast<double*>(part.data_ptr());
  if (rows > 0) {
    rows_kernel<T><<<static_cast<unsigned>(rows), kThreads, 0, stream>>>(
        rows, c, inner, static_cast<const T*>(st.data_ptr()), static_cast<const T*>(tt.data_ptr()),
        static_cast<const T*>(mt.data_ptr()), pp);
    DF_CUDA_KERNEL_CHECK();
  }
  finish_kernel<T><<<1, kThreads, 0, stream>>>(p, pp, rows, n * inner, c,
                                               static_cast<T*>(out.data_ptr()),
                                               static_cast<double*>(w.data_ptr()));
  DF_CUDA_KERNEL_CHECK();
}

template <class T>
void backward_typed(const KdMaskedMseParams&, const Tensor& gs, const Tensor& go, const Tensor& w,
                    const Tensor& st, const Tensor& tt, const Tensor& mt, int64_t, int64_t c,
                    int64_t inner) {
  const int64_t total = st.numel();
  if (total == 0) return;
  cudaStream_t stream = detforge::cuda::current_stream(st.device().index);
  backward_kernel<T><<<detforge::cuda::blocks_for(total, kThreads), kThreads, 0, stream>>>(
      total, c, inner, static_cast<const double*>(w.data_ptr()),
      static_cast<const T*>(st.data_ptr()), static_cast<const T*>(tt.data_ptr()),
      static_cast<const T*>(mt.data_ptr()), static_cast<const T*>(go.data_ptr()),
      static_cast<T*>(gs.data_ptr()));
  DF_CUDA_KERNEL_CHECK();
}

void forward_cuda(const KdMaskedMseParams& p, const Tensor& out, const Tensor& w, const Tensor& s,
                  const Tensor& t, const Tensor& m, int64_t n, int64_t c, int64_t inner) {
  DF_DISPATCH_FLOATING(s.dtype(), "kd_masked_mse",
                       [&] { forward_typed<scalar_t>(p, out, w, s, t, m, n, c, inner); });
}
void backward_cuda(const KdMaskedMseParams& p, const Tensor& gs, const Tensor& go, const Tensor& w,
                   const Tensor& s, const Tensor& t, const Tensor& m, int64_t n, int64_t c,
                   int64_t inner) {
  DF_DISPATCH_FLOATING(s.dtype(), "kd_masked_mse_backward",
                       [&] { backward_typed<scalar_t>(p, gs, go, w, s, t, m, n, c, inner); });
}

}  // namespace
DF_REGISTER_DISPATCH(kd_masked_mse_forward_stub, CUDA, &forward_cuda);
DF_REGISTER_DISPATCH(kd_masked_mse_backward_stub, CUDA, &backward_cuda);
}  // namespace detforge::kernels

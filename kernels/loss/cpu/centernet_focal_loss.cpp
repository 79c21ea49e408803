// CPU centernet_heatmap_focal_loss: one pass each way over the DETFORGE_HD element math (the
// float loops vectorise: exp_fast and log_pos are branch-free). Sums: blocks of 256 element values
// in float lanes, added to double; the chunking depends on n only (deterministic).
#include <algorithm>

#include "kernels/loss/centernet_focal_loss.h"
#include "kernels/loss/cpu/loss_cpu.h"
#include "tensor/dtype_cast.h"

namespace detforge::kernels {
namespace {

constexpr int64_t kGrain = 8192;
constexpr int64_t kBlock = 256;

template <class T>
void sum_loop(const T* x, const T* y, int64_t n, double* acc) {
  using A = acc_t<T>;
  A vb[kBlock], pb[kBlock];
  double sv = 0, sp = 0;
  for (int64_t i0 = 0; i0 < n; i0 += kBlock) {
    const int64_t len = std::min(kBlock, n - i0);
    const T* xb = x + i0;
    const T* yb = y + i0;
#pragma omp simd
    for (int64_t k = 0; k < len; ++k) {
      A pos;
      vb[k] = centernet_focal_value(static_cast<A>(xb[k]), static_cast<A>(yb[k]), pos);
      pb[k] = pos;
    }
#pragma omp simd reduction(+ : sv, sp)
    for (int64_t k = 0; k < len; ++k) {
      sv += static_cast<double>(vb[k]);
      sp += static_cast<double>(pb[k]);
    }
  }
  acc[0] += sv;
  acc[1] += sp;
}

template <class T>
void grad_loop(const T* x, const T* y, T* gx, int64_t n, acc_t<T> scale) {
  using A = acc_t<T>;
#pragma omp simd
  for (int64_t i = 0; i < n; ++i)
    gx[i] = cast_to<T>(scale * centernet_focal_grad(static_cast<A>(x[i]), static_cast<A>(y[i])));
}

template <class T>
void forward_typed(const Tensor& out, const Tensor& num_pos, const Tensor& xt, const Tensor& yt) {
  const int64_t n = xt.numel();
  const T* x = static_cast<const T*>(xt.data_ptr());
  const T* y = static_cast<const T*>(yt.data_ptr());
  auto s = cpu::chunked_sum<2>(
      n, kGrain, [=](int64_t b, int64_t e, double* acc) { sum_loop<T>(x + b, y + b, e - b, acc); });
  static_cast<double*>(num_pos.data_ptr())[0] = s[1];
  static_cast<T*>(out.data_ptr())[0] = cast_to<T>(-s[0] / std::max(s[1], 1.0));
}

template <class T>
void backward_typed(const Tensor& gxt, const Tensor& got, const Tensor& num_pos, const Tensor& xt,
                    const Tensor& yt) {
  using A = acc_t<T>;
  const int64_t n = xt.numel();
  if (n == 0) return;
  const T* x = static_cast<const T*>(xt.data_ptr());
  const T* y = static_cast<const T*>(yt.data_ptr());
  T* gx = static_cast<T*>(gxt.data_ptr());
  const double np = static_cast<const double*>(num_pos.data_ptr())[0];
  const A scale = static_cast<A>(-static_cast<double>(static_cast<const T*>(got.data_ptr())[0]) /
                                 std::max(np, 1.0));
  parallel_for(0, n, kGrain,
               [=](int64_t b, int64_t e) { grad_loop<T>(x + b, y + b, gx + b, e - b, scale); });
}

void forward_cpu(const Tensor& out, const Tensor& num_pos, const Tensor& x, const Tensor& y) {
  DF_DISPATCH_FLOATING(x.dtype(), "centernet_heatmap_focal_loss",
                       [&] { forward_typed<scalar_t>(out, num_pos, x, y); });
}

void backward_cpu(const Tensor& gx, const Tensor& go, const Tensor& num_pos, const Tensor& x,
                  const Tensor& y) {
  DF_DISPATCH_FLOATING(x.dtype(), "centernet_heatmap_focal_loss_backward",
                       [&] { backward_typed<scalar_t>(gx, go, num_pos, x, y); });
}

}  // namespace
DF_REGISTER_DISPATCH(centernet_focal_forward_stub, CPU, &forward_cpu);
DF_REGISTER_DISPATCH(centernet_focal_backward_stub, CPU, &backward_cpu);
}  // namespace detforge::kernels

// CPU kd_masked_mse: one pass over the N*C rows of `inner` values (parallel, deterministic
// chunks), FG/BG sums and the mask area (c == 0 rows) in double; backward one elementwise pass.
#include <algorithm>

#include "kernels/kd/kd_masked_mse.h"
#include "kernels/loss/cpu/loss_cpu.h"
#include "tensor/dtype_cast.h"
#include "tensor/parallel.h"

namespace detforge::kernels {
namespace {

template <class T>
void forward_typed(const KdMaskedMseParams& p, const Tensor& out, const Tensor& wt,
                   const Tensor& st, const Tensor& tt, const Tensor& mt, int64_t n, int64_t c,
                   int64_t inner) {
  const T* s = static_cast<const T*>(st.data_ptr());
  const T* t = static_cast<const T*>(tt.data_ptr());
  const T* m = static_cast<const T*>(mt.data_ptr());
  const int64_t grain = std::max<int64_t>(1, 16384 / std::max<int64_t>(inner, 1));
  auto acc = cpu::chunked_sum<3>(n * c, grain, [=](int64_t b, int64_t e, double* a) {
    for (int64_t row = b; row < e; ++row) {
      const T* x = s + row * inner;
      const T* y = t + row * inner;
      const T* mk = m + (row / c) * inner;
      double fg = 0, bg = 0;
#pragma omp simd reduction(+ : fg, bg)
      for (int64_t i = 0; i < inner; ++i) {
        double d = static_cast<double>(x[i]) - static_cast<double>(y[i]);
        double mv = static_cast<double>(mk[i]);
        fg += mv * d * d;
        bg += (1.0 - mv) * d * d;
      }
      a[0] += fg;
      a[1] += bg;
      if (row % c == 0) {
        double area = 0;
#pragma omp simd reduction(+ : area)
        for (int64_t i = 0; i < inner; ++i) area += static_cast<double>(mk[i]);
        a[2] += area;
      }
    }
  });
  double* w = static_cast<double*>(wt.data_ptr());
  static_cast<T*>(out.data_ptr())[0] =
      cast_to<T>(kd::masked_mse_finish(p, acc[0], acc[1], acc[2], n * inner, c, w));
}

template <class T>
void backward_typed(const KdMaskedMseParams&, const Tensor& gst, const Tensor& got,
                    const Tensor& wt, const Tensor& st, const Tensor& tt, const Tensor& mt,
                    int64_t n, int64_t c, int64_t inner) {
  using A = acc_t<T>;
  if (st.numel() == 0) return;
  const T* s = static_cast<const T*>(st.data_ptr());
  const T* t = static_cast<const T*>(tt.data_ptr());
  const T* m = static_cast<const T*>(mt.data_ptr());
  T* gs = static_cast<T*>(gst.data_ptr());
  const double* w = static_cast<const double*>(wt.data_ptr());
  const double g = static_cast<double>(static_cast<const T*>(got.data_ptr())[0]);
  const A wfg = static_cast<A>(g * w[0]), wbg = static_cast<A>(g * w[1]);
  parallel_for(0, n * c, std::max<int64_t>(1, 16384 / inner), [=](int64_t b, int64_t e) {
    for (int64_t row = b; row < e; ++row) {
      const T* x = s + row * inner;
      const T* y = t + row * inner;
      const T* mk = m + (row / c) * inner;
      T* gr = gs + row * inner;
#pragma omp simd
      for (int64_t i = 0; i < inner; ++i)
        gr[i] = cast_to<T>(kd::masked_mse_grad(static_cast<A>(x[i]), static_cast<A>(y[i]),
                                               static_cast<A>(mk[i]), wfg, wbg));
    }
  });
}

void forward_cpu(const KdMaskedMseParams& p, const Tensor& out, const Tensor& w, const Tensor& s,
                 const Tensor& t, const Tensor& m, int64_t n, int64_t c, int64_t inner) {
  DF_DISPATCH_FLOATING(s.dtype(), "kd_masked_mse",
                       [&] { forward_typed<scalar_t>(p, out, w, s, t, m, n, c, inner); });
}
void backward_cpu(const KdMaskedMseParams& p, const Tensor& gs, const Tensor& go, const Tensor& w,
                  const Tensor& s, const Tensor& t, const Tensor& m, int64_t n, int64_t c,
                  int64_t inner) {
  DF_DISPATCH_FLOATING(s.dtype(), "kd_masked_mse_backward",
                       [&] { backward_typed<scalar_t>(p, gs, go, w, s, t, m, n, c, inner); });
}

}  // namespace
DF_REGISTER_DISPATCH(kd_masked_mse_forward_stub, CPU, &forward_cpu);
DF_REGISTER_DISPATCH(kd_masked_mse_backward_stub, CPU, &backward_cpu);
}  // namespace detforge::kernels

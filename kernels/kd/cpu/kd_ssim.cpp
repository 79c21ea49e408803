// CPU kd_ssim: (n, c) maps in parallel; per map one vectorised pass of shifted moments, the
// element values widened to double (long sums), then the per-map SSIM summed in double in map
// order (deterministic). Backward: one pass from the saved per-map statistics.
#include <algorithm>

#include "kernels/kd/kd_ssim.h"
#include "tensor/dtype_cast.h"
#include "tensor/parallel.h"

namespace detforge::kernels {
namespace {

template <class T>
void forward_typed(const KdSsimParams& p, const Tensor& out, const Tensor& stats, const Tensor& st,
                   const Tensor& tt, int64_t n) {
  T* o = static_cast<T*>(out.data_ptr());
  if (n == 0) {
    o[0] = cast_to<T>(0.0 / 0.0);  // mean of nothing: NaN, as torch
    return;
  }
  const int64_t d = st.numel() / n;
  const T* s = static_cast<const T*>(st.data_ptr());
  const T* t = static_cast<const T*>(tt.data_ptr());
  double* sv = static_cast<double*>(stats.data_ptr());
  const double c1 = p.c1, c2 = p.c2;
  parallel_for(0, n, std::max<int64_t>(1, 16384 / d), [=](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const T* x = s + r * d;
      const T* y = t + r * d;
      const double x0 = static_cast<double>(x[0]), y0 = static_cast<double>(y[0]);
      double su = 0, sv2 = 0, suu = 0, svv = 0, suv = 0;
#pragma omp simd reduction(+ : su, sv2, suu, svv, suv)
      for (int64_t i = 0; i < d; ++i) {
        double u = static_cast<double>(x[i]) - x0, v = static_cast<double>(y[i]) - y0;
        su += u;
        sv2 += v;
        suu += u * u;
        svv += v * v;
        suv += u * v;
      }
      kd::ssim_stats(su, sv2, suu, svv, suv, x0, y0, d, c1, c2, sv + r * kd::kSsimStats);
    }
  });
  double acc = 0;
  for (int64_t r = 0; r < n; ++r) acc += 1.0 - sv[r * kd::kSsimStats + 5];
  o[0] = cast_to<T>(acc / static_cast<double>(n));
}

template <class T>
void backward_typed(const KdSsimParams&, const Tensor& gst, const Tensor& got, const Tensor& stats,
                    const Tensor& st, const Tensor& tt, int64_t n) {
  using A = acc_t<T>;
  if (n == 0 || st.numel() == 0) return;
  const int64_t d = st.numel() / n;
  const T* s = static_cast<const T*>(st.data_ptr());
  const T* t = static_cast<const T*>(tt.data_ptr());
  T* gs = static_cast<T*>(gst.data_ptr());
  const double* sv = static_cast<const double*>(stats.data_ptr());
  const A scale =
      static_cast<A>(-static_cast<double>(static_cast<const T*>(got.data_ptr())[0]) / n);
  const int64_t total = n * d;
  parallel_for(0, total, 16384, [=](int64_t b, int64_t e) {
    // split at map boundaries so each inner loop sees one set of statistics
    for (int64_t i0 = b; i0 < e;) {
      const int64_t r = i0 / d, i1 = std::min(e, (r + 1) * d);
      const double* q = sv + r * kd::kSsimStats;
#pragma omp simd
      for (int64_t i = i0; i < i1; ++i)
        gs[i] = cast_to<T>(scale * kd::ssim_grad(static_cast<A>(s[i]), static_cast<A>(t[i]), q));
      i0 = i1;
    }
  });
}

void forward_cpu(const KdSsimParams& p, const Tensor& out, const Tensor& stats, const Tensor& s,
                 const Tensor& t, int64_t n) {
  DF_DISPATCH_FLOATING(s.dtype(), "kd_ssim",
                       [&] { forward_typed<scalar_t>(p, out, stats, s, t, n); });
}
void backward_cpu(const KdSsimParams& p, const Tensor& gs, const Tensor& go, const Tensor& stats,
                  const Tensor& s, const Tensor& t, int64_t n) {
  DF_DISPATCH_FLOATING(s.dtype(), "kd_ssim_backward",
                       [&] { backward_typed<scalar_t>(p, gs, go, stats, s, t, n); });
}

}  // namespace
DF_REGISTER_DISPATCH(kd_ssim_forward_stub, CPU, &forward_cpu);
DF_REGISTER_DISPATCH(kd_ssim_backward_stub, CPU, &backward_cpu);
}  // namespace detforge::kernels

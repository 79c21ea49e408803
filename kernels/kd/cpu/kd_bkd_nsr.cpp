// CPU kd_bkd_nsr: channels in parallel; per channel one vectorised pass over its N runs of
// `inner` contiguous values, widened to double; channel ratios summed in channel order.
// Backward: one pass over all elements with the saved per-channel weights.
#include <algorithm>
#include <vector>

#include "kernels/kd/kd_bkd_nsr.h"
#include "tensor/dtype_cast.h"
#include "tensor/parallel.h"

namespace detforge::kernels {
namespace {

template <class T>
void forward_typed(const KdBkdNsrParams& p, const Tensor& out, const Tensor& wt, const Tensor& st,
                   const Tensor& tt, int64_t n, int64_t c, int64_t inner) {
  T* o = static_cast<T*>(out.data_ptr());
  const T* s = static_cast<const T*>(st.data_ptr());
  const T* t = static_cast<const T*>(tt.data_ptr());
  double* w = static_cast<double*>(wt.data_ptr());
  std::vector<double> ratio(static_cast<size_t>(c));
  double* rp = ratio.data();
  const int64_t m = n * inner;
  const double eps = p.eps;
  parallel_for(0, c, std::max<int64_t>(1, 16384 / std::max<int64_t>(m, 1)),
               [=](int64_t b, int64_t e) {
                 for (int64_t ch = b; ch < e; ++ch) {
                   const double t0 = m > 0 ? static_cast<double>(t[ch * inner]) : 0.0;
                   double sd = 0, sum_t = 0, stt = 0;
                   for (int64_t k = 0; k < n; ++k) {
                     const T* x = s + (k * c + ch) * inner;
                     const T* y = t + (k * c + ch) * inner;
#pragma omp simd reduction(+ : sd, sum_t, stt)
                     for (int64_t i = 0; i < inner; ++i) {
                       double yv = static_cast<double>(y[i]);
                       double diff = yv - static_cast<double>(x[i]), v = yv - t0;
                       sd += diff * diff;
                       sum_t += v;
                       stt += v * v;
                     }
                   }
                   rp[ch] = kd::nsr_channel(sd, sum_t, stt, m, eps, w + ch);
                 }
               });
  double acc = 0;
  for (int64_t ch = 0; ch < c; ++ch) acc += rp[ch];
  o[0] = cast_to<T>(acc / static_cast<double>(c));  // C == 0: NaN
}

template <class T>
void backward_typed(const KdBkdNsrParams&, const Tensor& gst, const Tensor& got, const Tensor& wt,
                    const Tensor& st, const Tensor& tt, int64_t n, int64_t c, int64_t inner) {
  using A = acc_t<T>;
  if (st.numel() == 0) return;
  const T* s = static_cast<const T*>(st.data_ptr());
  const T* t = static_cast<const T*>(tt.data_ptr());
  T* gs = static_cast<T*>(gst.data_ptr());
  const double* w = static_cast<const double*>(wt.data_ptr());
  const double g = static_cast<double>(static_cast<const T*>(got.data_ptr())[0]) / c;
  parallel_for(0, n * c, std::max<int64_t>(1, 16384 / inner), [=](int64_t b, int64_t e) {
    for (int64_t row = b; row < e; ++row) {
      const A wc = static_cast<A>(g * w[row % c]);
      const T* x = s + row * inner;
      const T* y = t + row * inner;
      T* gr = gs + row * inner;
#pragma omp simd
      for (int64_t i = 0; i < inner; ++i)
        gr[i] = cast_to<T>(kd::nsr_grad(static_cast<A>(x[i]), static_cast<A>(y[i]), wc));
    }
  });
}

void forward_cpu(const KdBkdNsrParams& p, const Tensor& out, const Tensor& w, const Tensor& s,
                 const Tensor& t, int64_t n, int64_t c, int64_t inner) {
  DF_DISPATCH_FLOATING(s.dtype(), "kd_bkd_nsr",
                       [&] { forward_typed<scalar_t>(p, out, w, s, t, n, c, inner); });
}
void backward_cpu(const KdBkdNsrParams& p, const Tensor& gs, const Tensor& go, const Tensor& w,
                  const Tensor& s, const Tensor& t, int64_t n, int64_t c, int64_t inner) {
  DF_DISPATCH_FLOATING(s.dtype(), "kd_bkd_nsr_backward",
                       [&] { backward_typed<scalar_t>(p, gs, go, w, s, t, n, c, inner); });
}

}  // namespace
DF_REGISTER_DISPATCH(kd_bkd_nsr_forward_stub, CPU, &forward_cpu);
DF_REGISTER_DISPATCH(kd_bkd_nsr_backward_stub, CPU, &backward_cpu);
}  // namespace detforge::kernels

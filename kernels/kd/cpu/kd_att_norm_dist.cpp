// CPU kd_att_norm_dist: samples in parallel, each sample's whole chain (attention, normalization,
// distance; backward: the recomputed forward, then the distance, norm and attention gradients) by
// one thread in a private scratch buffer (kd_att_norm_dist.h, serial context). The per-sample
// values are summed in double in sample order (deterministic).
#include <algorithm>
#include <vector>

#include "kernels/kd/kd_att_norm_dist_sample.h"
#include "tensor/parallel.h"

namespace detforge::kernels {
namespace {

struct SerialCtx {
  static constexpr bool kSerial = true;
  static constexpr int64_t tid = 0, nt = 1, warp = 0, nwarps = 1, lane = 0, lanes = 1;
  void sync() {}
  double sum(double v) { return v; }
  double max(double v) { return v; }
  double warp_sum(double v) { return v; }
  double warp_max(double v) { return v; }
};

template <class T>
void forward_typed(const KdAttNormDistParams& p, const Tensor& out, const Tensor& st,
                   const Tensor& tt, int64_t n, int64_t c, int64_t hw) {
  using A = acc_t<T>;
  T* o = static_cast<T*>(out.data_ptr());
  if (n == 0) {
    o[0] = cast_to<T>(0.0 / 0.0);  // mean of nothing: NaN, as torch
    return;
  }
  const T* s = static_cast<const T*>(st.data_ptr());
  const T* t = static_cast<const T*>(tt.data_ptr());
  std::vector<double> vals(static_cast<size_t>(n));
  double* vp = vals.data();
  const int64_t m = c * hw;
  parallel_for(0, n, 1, [=](int64_t b, int64_t e) {
    std::vector<A> scratch(static_cast<size_t>(kd::and_scratch<A>(c, hw)));
    SerialCtx cx;
    for (int64_t r = b; r < e; ++r)
      vp[r] = kd::and_forward_sample<T, A>(cx, p, s + r * m, t + r * m, scratch.data(), c, hw);
  });
  double acc = 0;
  for (int64_t r = 0; r < n; ++r) acc += vp[r];
  o[0] = cast_to<T>(acc / static_cast<double>(kd::and_denominator(p, n, c, hw)));
}

template <class T>
void backward_typed(const KdAttNormDistParams& p, const Tensor& gst, const Tensor& got,
                    const Tensor& st, const Tensor& tt, int64_t n, int64_t c, int64_t hw) {
  using A = acc_t<T>;
  if (n == 0 || c * hw == 0) return;
  const T* s = static_cast<const T*>(st.data_ptr());
  const T* t = static_cast<const T*>(tt.data_ptr());
  T* gs = static_cast<T*>(gst.data_ptr());
  const double scale = static_cast<double>(static_cast<const T*>(got.data_ptr())[0]) /
                       static_cast<double>(kd::and_denominator(p, n, c, hw));
  const int64_t m = c * hw;
  parallel_for(0, n, 1, [=](int64_t b, int64_t e) {
    std::vector<A> scratch(static_cast<size_t>(kd::and_scratch<A>(c, hw)));
    SerialCtx cx;
    for (int64_t r = b; r < e; ++r)
      kd::and_backward_sample<T, A>(cx, p, s + r * m, t + r * m, gs + r * m, scratch.data(), c, hw,
                                    scale);
  });
}

void forward_cpu(const KdAttNormDistParams& p, const Tensor& out, const Tensor& s, const Tensor& t,
                 int64_t n, int64_t c, int64_t hw) {
  DF_DISPATCH_FLOATING(s.dtype(), "kd_att_norm_dist",
                       [&] { forward_typed<scalar_t>(p, out, s, t, n, c, hw); });
}
void backward_cpu(const KdAttNormDistParams& p, const Tensor& gs, const Tensor& go, const Tensor& s,
                  const Tensor& t, int64_t n, int64_t c, int64_t hw) {
  DF_DISPATCH_FLOATING(s.dtype(), "kd_att_norm_dist_backward",
                       [&] { backward_typed<scalar_t>(p, gs, go, s, t, n, c, hw); });
}

}  // namespace
DF_REGISTER_DISPATCH(kd_att_norm_dist_forward_stub, CPU, &forward_cpu);
DF_REGISTER_DISPATCH(kd_att_norm_dist_backward_stub, CPU, &backward_cpu);
}  // namespace detforge::kernels

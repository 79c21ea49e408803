// CPU kd_soft_ce: rows in parallel; per row one read from memory: a max pass (vectorised), then
// the exp sums over the same row, re-read from cache (a row of C logits fits L1/L2). Row sums in
// vector lanes of the accumulator type (float for f32/f16/bf16, double for f64); the mean over rows
// in double, chunked by N only (deterministic whatever the thread count).
#include <algorithm>
#include <limits>

#include "kernels/kd/kd_soft_ce.h"
#include "kernels/loss/cpu/loss_cpu.h"
#include "tensor/dtype_cast.h"
#include "tensor/parallel.h"

namespace detforge::kernels {
namespace {

template <class T>
kd::SoftCeRow<acc_t<T>> row_stats(const T* s, const T* t, int64_t c, acc_t<T> inv_t) {
  using A = acc_t<T>;
  A ms = -std::numeric_limits<A>::infinity(), mt = ms;
#pragma omp simd reduction(max : ms, mt)
  for (int64_t i = 0; i < c; ++i) {
    A a = static_cast<A>(s[i]) * inv_t, b = static_cast<A>(t[i]) * inv_t;
    ms = a > ms ? a : ms;
    mt = b > mt ? b : mt;
  }
  // A row of -inf only (or all NaN): keep the exp arguments finite-or-NaN like torch.
  if (ms == -std::numeric_limits<A>::infinity()) ms = A(0);
  if (mt == -std::numeric_limits<A>::infinity()) mt = A(0);
  A zs = 0, zt = 0, w = 0;
#pragma omp simd reduction(+ : zs, zt, w)
  for (int64_t i = 0; i < c; ++i) {
    A a = static_cast<A>(s[i]) * inv_t, b = static_cast<A>(t[i]) * inv_t;
    A e = dmath::exp_fast(b - mt);
    zs += dmath::exp_fast(a - ms);
    zt += e;
    w += e * a;
  }
  return {ms, mt, zs, zt, w};
}

// One row's gradient, a plain function of restrict pointers and scalar arguments: in the
// parallel_for lambda the loop read its constants through the stack every element and stayed
// scalar (6x slower than the forward); here it vectorises.
template <class T>
void grad_row(const T* __restrict sr, const T* __restrict tr, T* __restrict gr, int64_t c,
              acc_t<T> inv_t, acc_t<T> ms, acc_t<T> mt, acc_t<T> rzs, acc_t<T> rzt,
              acc_t<T> scale) {
  using A = acc_t<T>;
#pragma omp simd
  for (int64_t i = 0; i < c; ++i) {
    A q = dmath::exp_fast(static_cast<A>(sr[i]) * inv_t - ms) * rzs;
    A p = dmath::exp_fast(static_cast<A>(tr[i]) * inv_t - mt) * rzt;
    gr[i] = cast_to<T>(scale * (q - p));
  }
}

template <class T>
void forward_typed(const KdSoftCeParams& p, const Tensor& out, const Tensor& st, const Tensor& tt) {
  using A = acc_t<T>;
  const int64_t n = st.size(0), c = st.size(1);
  const T* s = static_cast<const T*>(st.data_ptr());
  const T* t = static_cast<const T*>(tt.data_ptr());
  const A inv_t = static_cast<A>(1.0 / p.temperature);
  const int64_t grain = std::max<int64_t>(1, 8192 / std::max<int64_t>(c, 1));
  auto sum = cpu::chunked_sum<1>(n, grain, [=](int64_t b, int64_t e, double* acc) {
    if (c == 0) return;  // empty rows: -sum over nothing = 0
    for (int64_t r = b; r < e; ++r)
      acc[0] +=
          static_cast<double>(kd::soft_ce_row_loss(row_stats(s + r * c, t + r * c, c, inv_t)));
  });
  static_cast<T*>(out.data_ptr())[0] = cast_to<T>(sum[0] / static_cast<double>(n));  // N=0: NaN
}

template <class T>
void backward_typed(const KdSoftCeParams& p, const Tensor& gst, const Tensor& got, const Tensor& st,
                    const Tensor& tt) {
  using A = acc_t<T>;
  const int64_t n = st.size(0), c = st.size(1);
  if (n == 0 || c == 0) return;
  const T* s = static_cast<const T*>(st.data_ptr());
  const T* t = static_cast<const T*>(tt.data_ptr());
  T* gs = static_cast<T*>(gst.data_ptr());
  const A inv_t = static_cast<A>(1.0 / p.temperature);
  const A scale = static_cast<A>(static_cast<double>(static_cast<const T*>(got.data_ptr())[0]) /
                                 static_cast<double>(n) / p.temperature);
  const int64_t grain = std::max<int64_t>(1, 8192 / c);
  parallel_for(0, n, grain, [=](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      const T* sr = s + r * c;
      const T* tr = t + r * c;
      T* gr = gs + r * c;
      auto st = row_stats(sr, tr, c, inv_t);
      grad_row(sr, tr, gr, c, inv_t, st.ms, st.mt, A(1) / st.zs, A(1) / st.zt, scale);
    }
  });
}

void forward_cpu(const KdSoftCeParams& p, const Tensor& out, const Tensor& s, const Tensor& t) {
  DF_DISPATCH_FLOATING(s.dtype(), "kd_soft_ce", [&] { forward_typed<scalar_t>(p, out, s, t); });
}
void backward_cpu(const KdSoftCeParams& p, const Tensor& gs, const Tensor& go, const Tensor& s,
                  const Tensor& t) {
  DF_DISPATCH_FLOATING(s.dtype(), "kd_soft_ce_backward",
                       [&] { backward_typed<scalar_t>(p, gs, go, s, t); });
}

}  // namespace
DF_REGISTER_DISPATCH(kd_soft_ce_forward_stub, CPU, &forward_cpu);
DF_REGISTER_DISPATCH(kd_soft_ce_backward_stub, CPU, &backward_cpu);
}  // namespace detforge::kernels

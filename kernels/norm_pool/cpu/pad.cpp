// CPU padding: parallel over planes; backward accumulates within a plane (no races).
#include <vector>

#include "kernels/norm_pool/pad.h"
#include "tensor/dtype_cast.h"
#include "tensor/parallel.h"

namespace detforge::kernels {
namespace {

struct PadTables {
  std::vector<int64_t> t[3];
  explicit PadTables(const PadParams& p) {
    for (int d = 0; d < 3; ++d) {
      t[d].resize(p.out[d]);
      for (int64_t o = 0; o < p.out[d]; ++o)
        t[d][o] = pad_src_index(o, p.before[d], p.in[d], p.mode);
    }
  }
};

template <class T>
void pad_fwd_typed(const Tensor& out, const Tensor& x, const PadParams& p) {
  const T* px = static_cast<const T*>(x.data_ptr());
  T* po = static_cast<T*>(out.data_ptr());
  PadTables tb(p);
  const int64_t in_n = p.in[0] * p.in[1] * p.in[2], out_n = p.out[0] * p.out[1] * p.out[2];
  const T fill = cast_to<T>(static_cast<acc_t<T>>(p.value));
  parallel_for(0, p.P, std::max<int64_t>(1, kDefaultGrain / std::max<int64_t>(out_n, 1)),
               [&](int64_t b, int64_t e) {
                 for (int64_t pl = b; pl < e; ++pl) {
                   const T* src = px + pl * in_n;
                   T* dst = po + pl * out_n;
                   for (int64_t a = 0; a < p.out[0]; ++a) {
                     int64_t sa = tb.t[0][a];
                     for (int64_t c = 0; c < p.out[1]; ++c) {
                       int64_t sc = tb.t[1][c];
                       T* o = dst + (a * p.out[1] + c) * p.out[2];
                       if (sa < 0 || sc < 0) {
                         for (int64_t k = 0; k < p.out[2]; ++k) o[k] = fill;
                         continue;
                       }
                       const T* row = src + (sa * p.in[1] + sc) * p.in[2];
                       for (int64_t k = 0; k < p.out[2]; ++k) {
                         int64_t sk = tb.t[2][k];
                         o[k] = sk < 0 ? fill : row[sk];
                       }
                     }
                   }
                 }
               });
}

template <class T>
void pad_bwd_typed(const Tensor& gi, const Tensor& go, const PadParams& p) {
  using A = acc_t<T>;
  T* pgi = static_cast<T*>(gi.data_ptr());
  const T* pgo = static_cast<const T*>(go.data_ptr());
  PadTables tb(p);
  const int64_t in_n = p.in[0] * p.in[1] * p.in[2], out_n = p.out[0] * p.out[1] * p.out[2];
  parallel_for(0, p.P, std::max<int64_t>(1, kDefaultGrain / std::max<int64_t>(out_n + in_n, 1)),
               [&](int64_t b, int64_t e) {
                 std::vector<A> acc(in_n);
                 for (int64_t pl = b; pl < e; ++pl) {
                   std::fill(acc.begin(), acc.end(), A(0));
                   const T* g = pgo + pl * out_n;
                   for (int64_t a = 0; a < p.out[0]; ++a) {
                     int64_t sa = tb.t[0][a];
                     if (sa < 0) continue;
                     for (int64_t c = 0; c < p.out[1]; ++c) {
                       int64_t sc = tb.t[1][c];
                       if (sc < 0) continue;
                       const T* gr = g + (a * p.out[1] + c) * p.out[2];
                       A* row = acc.data() + (sa * p.in[1] + sc) * p.in[2];
                       for (int64_t k = 0; k < p.out[2]; ++k) {
                         int64_t sk = tb.t[2][k];
                         if (sk >= 0) row[sk] += static_cast<A>(gr[k]);
                       }
                     }
                   }
                   for (int64_t i = 0; i < in_n; ++i) pgi[pl * in_n + i] = cast_to<T>(acc[i]);
                 }
               });
}

void pad_fwd_cpu(const Tensor& out, const Tensor& x, const PadParams& p) {
  DF_DISPATCH_NUMERIC(x.dtype(), "pad", [&] { pad_fwd_typed<scalar_t>(out, x, p); });
}
void pad_bwd_cpu(const Tensor& gi, const Tensor& go, const PadParams& p) {
  DF_DISPATCH_FLOATING(gi.dtype(), "pad_backward", [&] { pad_bwd_typed<scalar_t>(gi, go, p); });
}

}  // namespace
DF_REGISTER_DISPATCH(pad_stub, CPU, &pad_fwd_cpu);
DF_REGISTER_DISPATCH(pad_backward_stub, CPU, &pad_bwd_cpu);
}  // namespace detforge::kernels

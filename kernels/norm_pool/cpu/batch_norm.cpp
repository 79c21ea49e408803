// CPU batch/group/layer normalisation: fused per-channel (batch) or per-row (group/layer)
// statistics in double, one pass to apply, one fused backward.
#include <cmath>

#include "kernels/norm_pool/batch_norm.h"
#include "tensor/dtype_cast.h"
#include "tensor/parallel.h"

namespace detforge::kernels {
namespace {

template <class S>
const S* opt_ptr(const Tensor& t) {
  return t.defined() ? static_cast<const S*>(t.data_ptr()) : nullptr;
}
template <class S>
S* opt_mut(const Tensor& t) {
  return t.defined() ? static_cast<S*>(t.data_ptr()) : nullptr;
}
int64_t grain_for(int64_t work_per_item) {
  return std::max<int64_t>(1, kDefaultGrain / std::max<int64_t>(work_per_item, 1));
}

// ---- batch norm ----
template <class T>
void bn_stats_typed(const Tensor& x, const BatchNormShape& s, const Tensor& mean,
                    const Tensor& invstd, const Tensor& rm, const Tensor& rv, double momentum,
                    double eps) {
  using St = acc_t<T>;  // float, or double for f64
  const T* px = static_cast<const T*>(x.data_ptr());
  St* pm = static_cast<St*>(mean.data_ptr());
  St* pi = static_cast<St*>(invstd.data_ptr());
  St* prm = opt_mut<St>(rm);
  St* prv = opt_mut<St>(rv);
  const int64_t M = s.N * s.S;
  parallel_for(0, s.C, grain_for(M), [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      double sum = 0;
      for (int64_t n = 0; n < s.N; ++n) {
        const T* p = px + (n * s.C + c) * s.S;
        for (int64_t i = 0; i < s.S; ++i) sum += static_cast<double>(static_cast<St>(p[i]));
      }
      double mu = sum / static_cast<double>(M), ss = 0;
      for (int64_t n = 0; n < s.N; ++n) {
        const T* p = px + (n * s.C + c) * s.S;
        for (int64_t i = 0; i < s.S; ++i) {
          double d = static_cast<double>(static_cast<St>(p[i])) - mu;
          ss += d * d;
        }
      }
      double var = ss / static_cast<double>(M);
      pm[c] = static_cast<St>(mu);
      pi[c] = static_cast<St>(1.0 / std::sqrt(var + eps));
      if (prm) prm[c] = static_cast<St>(running_update(prm[c], mu, momentum));
      if (prv)
        prv[c] = static_cast<St>(
            running_update(prv[c], M > 1 ? ss / static_cast<double>(M - 1) : NAN, momentum));
    }
  });
}

template <class T>
void bn_apply_typed(const Tensor& out, const Tensor& x, const BatchNormShape& s, const Tensor& mean,
                    const Tensor& invstd, const Tensor& weight, const Tensor& bias) {
  using A = acc_t<T>;
  const T* px = static_cast<const T*>(x.data_ptr());
  T* po = static_cast<T*>(out.data_ptr());
  const A* pm = static_cast<const A*>(mean.data_ptr());
  const A* pi = static_cast<const A*>(invstd.data_ptr());
  const T* pw = opt_ptr<T>(weight);
  const T* pb = opt_ptr<T>(bias);
  parallel_for(0, s.N * s.C, grain_for(s.S), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      int64_t c = r % s.C;
      A m = pm[c], is = pi[c], w = pw ? static_cast<A>(pw[c]) : A(1),
        b = pb ? static_cast<A>(pb[c]) : A(0);
      const T* xi = px + r * s.S;
      T* yo = po + r * s.S;
      for (int64_t i = 0; i < s.S; ++i)
        yo[i] = cast_to<T>(norm_apply_elem<A>(static_cast<A>(xi[i]), m, is, w, b));
    }
  });
}

template <class T>
void bn_backward_typed(const Tensor& gi, const Tensor& gw, const Tensor& gb, const Tensor& go,
                       const Tensor& x, const BatchNormShape& s, const Tensor& mean,
                       const Tensor& invstd, const Tensor& weight, bool train) {
  using A = acc_t<T>;
  const T* px = static_cast<const T*>(x.data_ptr());
  const T* pg = static_cast<const T*>(go.data_ptr());
  const A* pm = static_cast<const A*>(mean.data_ptr());
  const A* pi = static_cast<const A*>(invstd.data_ptr());
  const T* pw = opt_ptr<T>(weight);
  T* pgi = opt_mut<T>(gi);
  T* pgw = opt_mut<T>(gw);
  T* pgb = opt_mut<T>(gb);
  const int64_t M = s.N * s.S;
  parallel_for(0, s.C, grain_for(2 * M), [&](int64_t c0, int64_t c1) {
    for (int64_t c = c0; c < c1; ++c) {
      double sdy = 0, sdyx = 0;  // sum dy, sum dy * (x - mean)
      double mu = pm[c];
      for (int64_t n = 0; n < s.N; ++n) {
        const T* xi = px + (n * s.C + c) * s.S;
        const T* gi_ = pg + (n * s.C + c) * s.S;
        for (int64_t i = 0; i < s.S; ++i) {
          double g = static_cast<A>(gi_[i]);
          sdy += g;
          sdyx += g * (static_cast<double>(static_cast<A>(xi[i])) - mu);
        }
      }
      A is = pi[c], w = pw ? static_cast<A>(pw[c]) : A(1);
      if (pgw) pgw[c] = cast_to<T>(static_cast<A>(sdyx * is));
      if (pgb) pgb[c] = cast_to<T>(static_cast<A>(sdy));
      if (!pgi) continue;
      A mean_dyw = static_cast<A>(w * sdy / static_cast<double>(M));
      A mean_dyw_xhat = static_cast<A>(w * sdyx * is / static_cast<double>(M));
      A m = pm[c];
      for (int64_t n = 0; n < s.N; ++n) {
        const T* xi = px + (n * s.C + c) * s.S;
        const T* gi_ = pg + (n * s.C + c) * s.S;
        T* o = pgi + (n * s.C + c) * s.S;
        for (int64_t i = 0; i < s.S; ++i) {
          A xhat = (static_cast<A>(xi[i]) - m) * is;
          o[i] = cast_to<T>(norm_backward_elem<A>(static_cast<A>(gi_[i]) * w, xhat, is, mean_dyw,
                                                  mean_dyw_xhat, train));
        }
      }
    }
  });
}

// ---- group norm (and layer norm) ----
template <class T>
void gn_forward_typed(const Tensor& out, const Tensor& mean, const Tensor& rstd, const Tensor& x,
                      const Tensor& weight, const Tensor& bias, const GroupNormShape& s,
                      double eps) {
  using A = acc_t<T>;
  const T* px = static_cast<const T*>(x.data_ptr());
  T* po = static_cast<T*>(out.data_ptr());
  A* pm = static_cast<A*>(mean.data_ptr());
  A* pr = static_cast<A*>(rstd.data_ptr());
  const T* pw = opt_ptr<T>(weight);
  const T* pb = opt_ptr<T>(bias);
  const int64_t Cg = s.C / s.G, L = Cg * s.S;
  parallel_for(0, s.N * s.G, grain_for(2 * L), [&](int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; ++r) {
      const T* xr = px + r * L;
      double sum = 0;
      for (int64_t i = 0; i < L; ++i) sum += static_cast<double>(static_cast<A>(xr[i]));
      double mu = sum / static_cast<double>(L), ss = 0;
      for (int64_t i = 0; i < L; ++i) {
        double d = static_cast<double>(static_cast<A>(xr[i])) - mu;
        ss += d * d;
      }
      A m = static_cast<A>(mu),
        is = static_cast<A>(1.0 / std::sqrt(ss / static_cast<double>(L) + eps));
      pm[r] = m;
      pr[r] = is;
      int64_t g = r % s.G;
      T* yr = po + r * L;
      for (int64_t cc = 0; cc < Cg; ++cc) {
        int64_t c = g * Cg + cc;
        A w = pw ? static_cast<A>(pw[c]) : A(1), b = pb ? static_cast<A>(pb[c]) : A(0);
        for (int64_t i = cc * s.S; i < (cc + 1) * s.S; ++i)
          yr[i] = cast_to<T>(norm_apply_elem<A>(static_cast<A>(xr[i]), m, is, w, b));
      }
    }
  });
}

template <class T>
void gn_backward_typed(const Tensor& gi, const Tensor& gw, const Tensor& gb, const Tensor& go,
                       const Tensor& x, const Tensor& mean, const Tensor& rstd,
                       const Tensor& weight, const GroupNormShape& s) {
  using A = acc_t<T>;
  const T* px = static_cast<const T*>(x.data_ptr());
  const T* pg = static_cast<const T*>(go.data_ptr());
  const A* pm = static_cast<const A*>(mean.data_ptr());
  const A* pr = static_cast<const A*>(rstd.data_ptr());
  const T* pw = opt_ptr<T>(weight);
  T* pgi = opt_mut<T>(gi);
  T* pgw = opt_mut<T>(gw);
  T* pgb = opt_mut<T>(gb);
  const int64_t Cg = s.C / s.G, L = Cg * s.S;
  if (pgi)
    parallel_for(0, s.N * s.G, grain_for(2 * L), [&](int64_t r0, int64_t r1) {
      for (int64_t r = r0; r < r1; ++r) {
        const T* xr = px + r * L;
        const T* gr = pg + r * L;
        int64_t g = r % s.G;
        A m = pm[r], is = pr[r];
        double sdyw = 0, sdywx = 0;
        for (int64_t cc = 0; cc < Cg; ++cc) {
          A w = pw ? static_cast<A>(pw[g * Cg + cc]) : A(1);
          for (int64_t i = cc * s.S; i < (cc + 1) * s.S; ++i) {
            double dyw = static_cast<double>(static_cast<A>(gr[i]) * w);
            sdyw += dyw;
            sdywx += dyw * static_cast<double>((static_cast<A>(xr[i]) - m) * is);
          }
        }
        A mdyw = static_cast<A>(sdyw / static_cast<double>(L)),
          mdywx = static_cast<A>(sdywx / static_cast<double>(L));
        T* o = pgi + r * L;
        for (int64_t cc = 0; cc < Cg; ++cc) {
          A w = pw ? static_cast<A>(pw[g * Cg + cc]) : A(1);
          for (int64_t i = cc * s.S; i < (cc + 1) * s.S; ++i) {
            A xhat = (static_cast<A>(xr[i]) - m) * is;
            o[i] = cast_to<T>(
                norm_backward_elem<A>(static_cast<A>(gr[i]) * w, xhat, is, mdyw, mdywx, true));
          }
        }
      }
    });
  if (pgw || pgb)
    parallel_for(0, s.C, grain_for(2 * s.N * s.S), [&](int64_t c0, int64_t c1) {
      for (int64_t c = c0; c < c1; ++c) {
        int64_t g = c / Cg;
        double sw = 0, sb = 0;
        for (int64_t n = 0; n < s.N; ++n) {
          int64_t r = n * s.G + g;
          const T* xr = px + (n * s.C + c) * s.S;
          const T* gr = pg + (n * s.C + c) * s.S;
          double m = pm[r], is = pr[r];
          for (int64_t i = 0; i < s.S; ++i) {
            double dy = static_cast<A>(gr[i]);
            sb += dy;
            sw += dy * (static_cast<double>(static_cast<A>(xr[i])) - m) * is;
          }
        }
        if (pgw) pgw[c] = cast_to<T>(static_cast<A>(sw));
        if (pgb) pgb[c] = cast_to<T>(static_cast<A>(sb));
      }
    });
}

void bn_stats_cpu(const Tensor& x, const BatchNormShape& s, const Tensor& mean,
                  const Tensor& invstd, const Tensor& rm, const Tensor& rv, double momentum,
                  double eps) {
  DF_DISPATCH_FLOATING(x.dtype(), "batch_norm", [&] {
    bn_stats_typed<scalar_t>(x, s, mean, invstd, rm, rv, momentum, eps);
  });
}
void bn_invstd_cpu(const Tensor& invstd, const Tensor& var, double eps) {
  DF_DISPATCH_FLOATING(var.dtype(), "batch_norm", [&] {
    using St = acc_t<scalar_t>;
    const St* pv = static_cast<const St*>(var.data_ptr());
    St* pi = static_cast<St*>(invstd.data_ptr());
    for (int64_t c = 0; c < var.numel(); ++c)
      pi[c] = static_cast<St>(1.0 / std::sqrt(static_cast<double>(pv[c]) + eps));
  });
}
void bn_apply_cpu(const Tensor& out, const Tensor& x, const BatchNormShape& s, const Tensor& mean,
                  const Tensor& invstd, const Tensor& w, const Tensor& b) {
  DF_DISPATCH_FLOATING(x.dtype(), "batch_norm",
                       [&] { bn_apply_typed<scalar_t>(out, x, s, mean, invstd, w, b); });
}
void bn_backward_cpu(const Tensor& gi, const Tensor& gw, const Tensor& gb, const Tensor& go,
                     const Tensor& x, const BatchNormShape& s, const Tensor& mean,
                     const Tensor& invstd, const Tensor& w, bool train) {
  DF_DISPATCH_FLOATING(x.dtype(), "batch_norm_backward", [&] {
    bn_backward_typed<scalar_t>(gi, gw, gb, go, x, s, mean, invstd, w, train);
  });
}
void gn_forward_cpu(const Tensor& out, const Tensor& mean, const Tensor& rstd, const Tensor& x,
                    const Tensor& w, const Tensor& b, const GroupNormShape& s, double eps) {
  DF_DISPATCH_FLOATING(x.dtype(), "group_norm",
                       [&] { gn_forward_typed<scalar_t>(out, mean, rstd, x, w, b, s, eps); });
}
void gn_backward_cpu(const Tensor& gi, const Tensor& gw, const Tensor& gb, const Tensor& go,
                     const Tensor& x, const Tensor& mean, const Tensor& rstd, const Tensor& w,
                     const GroupNormShape& s) {
  DF_DISPATCH_FLOATING(x.dtype(), "group_norm_backward",
                       [&] { gn_backward_typed<scalar_t>(gi, gw, gb, go, x, mean, rstd, w, s); });
}

}  // namespace
DF_REGISTER_DISPATCH(batch_norm_stats_stub, CPU, &bn_stats_cpu);
DF_REGISTER_DISPATCH(batch_norm_invstd_stub, CPU, &bn_invstd_cpu);
DF_REGISTER_DISPATCH(batch_norm_apply_stub, CPU, &bn_apply_cpu);
DF_REGISTER_DISPATCH(batch_norm_backward_stub, CPU, &bn_backward_cpu);
DF_REGISTER_DISPATCH(group_norm_forward_stub, CPU, &gn_forward_cpu);
DF_REGISTER_DISPATCH(group_norm_backward_stub, CPU, &gn_backward_cpu);
}  // namespace detforge::kernels

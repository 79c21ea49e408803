// kd_att_norm_dist's per-sample chain (formulas in kd_att_norm_dist.h), written once for both
// backends over a cooperative context Ctx:
//   kSerial (constexpr bool); tid, nt: the thread and thread count; warp, nwarps, lane, lanes: the
//   warp grouping; sync(); sum(v), max(v): all-reduces over the block; warp_sum(v), warp_max(v):
//   over the warp (every lane gets the result).
// CPU: a serial context (kernels/kd/cpu/kd_att_norm_dist.cpp: tid 0, nt 1, one lane), with
// contiguous column-reduction forms where the generic code would stride; CUDA: a block context
// (kernels/kd/cuda/kd_att_norm_dist.cu: 256 threads, 32-lane warps).
#pragma once
#include "kernels/kd/kd_att_norm_dist.h"
#include "kernels/math.h"
#include "tensor/dtype_cast.h"

// omp simd sum reductions in the serial (CPU) instantiations of the per-sample code.
#define DF_KD_PRAGMA(x) _Pragma(#x)
#if defined(__CUDA_ARCH__) || !defined(_OPENMP)
#define DF_KD_SIMD_SUM(...)
#define DF_KD_SIMD
#else
#define DF_KD_SIMD DF_KD_PRAGMA(omp simd)
#define DF_KD_SIMD_SUM(...) DF_KD_PRAGMA(omp simd reduction(+ : __VA_ARGS__))
#endif

namespace detforge::kernels::kd {

DETFORGE_HD inline double and_neg_inf() {
#ifdef __CUDA_ARCH__
  return __longlong_as_double(static_cast<long long>(0xfff0000000000000ULL));
#else
  return -__builtin_huge_val();
#endif
}

template <class A>
DETFORGE_HD inline A and_sign(A x) {
  return static_cast<A>((x > A(0)) - (x < A(0)));
}

// Serial (CPU) form of and_transform: the same math with every inner loop contiguous (column
// reductions over c, for satt and norm_C, accumulate row by row into a length-P vector).
template <class T, class A>
DETFORGE_HD inline void and_transform_serial(const KdAttNormDistParams& p, const T* f, A* y,
                                             double* av, double* ns, int64_t C, int64_t P,
                                             int64_t V) {
  using Q = KdAttNormDistParams;
  const int64_t M = C * P;
  for (int64_t i = 0; i < M; ++i) y[i] = static_cast<A>(f[i]);
  if (p.att != Q::kNoAtt) {
    const bool sp = p.att == Q::kSatt;
    const int64_t L = sp ? P : C, K = sp ? C : P;
    if (sp) {
      for (int64_t q = 0; q < P; ++q) av[q] = 0.0;
      for (int64_t c = 0; c < C; ++c) {
        const A* row = y + c * P;
        for (int64_t q = 0; q < P; ++q) av[q] += dmath::fabs(row[q]);
      }
    } else {
      for (int64_t c = 0; c < C; ++c) {
        const A* row = y + c * P;
        double g = 0;
        DF_KD_SIMD_SUM(g)
        for (int64_t q = 0; q < P; ++q) g += static_cast<double>(dmath::fabs(row[q]));
        av[c] = g;
      }
    }
    const double inv = 1.0 / (static_cast<double>(K) * p.tau);
    double m = and_neg_inf();
    for (int64_t l = 0; l < L; ++l) {
      const double z = static_cast<double>(av[l]) * inv;
      av[l] = z;
      m = z > m || z != z ? z : m;
    }
    double zs = 0;
    for (int64_t l = 0; l < L; ++l) zs += dmath::exp(static_cast<double>(av[l]) - m);
    const double k = static_cast<double>(L) / zs;
    for (int64_t l = 0; l < L; ++l) av[l] = k * dmath::exp(av[l] - m);
    for (int64_t c = 0; c < C; ++c) {
      A* row = y + c * P;
      if (sp) {
        for (int64_t q = 0; q < P; ++q) row[q] = static_cast<A>(row[q] * av[q]);
      } else {
        const A a = static_cast<A>(av[c]);
        for (int64_t q = 0; q < P; ++q) row[q] *= a;
      }
    }
  }
  if (p.norm == Q::kNormHW) {
    for (int64_t c = 0; c < C; ++c) {
      A* row = y + c * P;
      double sm = 0;
      DF_KD_SIMD_SUM(sm)
      for (int64_t q = 0; q < P; ++q) sm += static_cast<double>(row[q]);
      const double mu = sm / static_cast<double>(P);
      double v = 0;
      DF_KD_SIMD_SUM(v)
      for (int64_t q = 0; q < P; ++q) {
        const double d = static_cast<double>(row[q]) - mu;
        v += d * d;
      }
      const double r = 1.0 / dmath::sqrt(v / static_cast<double>(P) + p.eps);
      ns[c] = mu;
      ns[V + c] = r;
      const A am = static_cast<A>(mu), ar = static_cast<A>(r);
      for (int64_t q = 0; q < P; ++q) row[q] = (row[q] - am) * ar;
    }
  } else if (p.norm == Q::kNormC) {
    double* mu = ns;
    double* r = ns + V;
    for (int64_t q = 0; q < P; ++q) mu[q] = 0.0, r[q] = 0.0;
    for (int64_t c = 0; c < C; ++c)
      for (int64_t q = 0; q < P; ++q) mu[q] += y[c * P + q];
    const double ic = 1.0 / static_cast<double>(C);
    for (int64_t q = 0; q < P; ++q) mu[q] *= ic;
    for (int64_t c = 0; c < C; ++c)
      for (int64_t q = 0; q < P; ++q) {
        const double d = y[c * P + q] - mu[q];
        r[q] += d * d;
      }
    for (int64_t q = 0; q < P; ++q) r[q] = 1.0 / dmath::sqrt(r[q] * ic + p.eps);
    for (int64_t c = 0; c < C; ++c)
      for (int64_t q = 0; q < P; ++q) y[c * P + q] = static_cast<A>((y[c * P + q] - mu[q]) * r[q]);
  }
}

// f [C, P] -> y [C, P] (attention then normalization). av: the attention vector (length P for
// satt, C for catt); ns: mean / rstd of the normalized rows (2 V).
template <class T, class A, class Ctx>
DETFORGE_HD void and_transform(Ctx& cx, const KdAttNormDistParams& p, const T* f, A* y, double* av,
                               double* ns, int64_t C, int64_t P, int64_t V) {
  using Q = KdAttNormDistParams;
  if constexpr (Ctx::kSerial) {
    and_transform_serial<T, A>(p, f, y, av, ns, C, P, V);
  } else {
    // Reductions over contiguous rows (catt, norm_HW) take a warp per row (lanes stride the row);
    // over columns (satt, norm_C: stride P) a thread per column (coalesced across threads).
    if (p.att != Q::kNoAtt) {
      const bool sp = p.att == Q::kSatt;
      const int64_t L = sp ? P : C, K = sp ? C : P;    // attention length, summed length
      const int64_t so = sp ? P : 1, lo = sp ? 1 : P;  // strides of the summed / attention index
      const int64_t g0 = sp ? cx.tid : cx.warp, gn = sp ? cx.nt : cx.nwarps;
      const int64_t k0 = sp ? 0 : cx.lane, kn = sp ? 1 : cx.lanes;
      for (int64_t l = g0; l < L; l += gn) {
        double g = 0;
        for (int64_t k = k0; k < K; k += kn)
          g += dmath::fabs(static_cast<double>(static_cast<A>(f[l * lo + k * so])));
        if (!sp) g = cx.warp_sum(g);
        if (k0 == 0) av[l] = g / static_cast<double>(K) / p.tau;
      }
      cx.sync();
      double lmax = and_neg_inf();
      for (int64_t l = cx.tid; l < L; l += cx.nt) lmax = av[l] > lmax ? av[l] : lmax;
      const double m = cx.max(lmax);
      double ls = 0;
      for (int64_t l = cx.tid; l < L; l += cx.nt) ls += dmath::exp(av[l] - m);
      const double z = cx.sum(ls);
      for (int64_t l = cx.tid; l < L; l += cx.nt)
        av[l] = static_cast<double>(L) * dmath::exp(av[l] - m) / z;
      cx.sync();
      for (int64_t c = 0; c < C; ++c)
        for (int64_t q = cx.tid; q < P; q += cx.nt)
          y[c * P + q] = static_cast<A>(static_cast<A>(f[c * P + q]) * av[sp ? q : c]);
    } else {
      for (int64_t c = 0; c < C; ++c)
        for (int64_t q = cx.tid; q < P; q += cx.nt) y[c * P + q] = static_cast<A>(f[c * P + q]);
    }
    cx.sync();
    if (p.norm == Q::kNoNorm) return;
    const bool hw = p.norm == Q::kNormHW;
    const int64_t L = hw ? C : P, K = hw ? P : C, lo = hw ? P : 1, so = hw ? 1 : P;
    const int64_t g0 = hw ? cx.warp : cx.tid, gn = hw ? cx.nwarps : cx.nt;
    const int64_t k0 = hw ? cx.lane : 0, kn = hw ? cx.lanes : 1;
    for (int64_t l = g0; l < L; l += gn) {
      A* row = y + l * lo;
      double s = 0;
      for (int64_t k = k0; k < K; k += kn) s += static_cast<double>(row[k * so]);
      if (hw) s = cx.warp_sum(s);
      const double mu = s / static_cast<double>(K);
      double v = 0;
      for (int64_t k = k0; k < K; k += kn) {
        const double d = static_cast<double>(row[k * so]) - mu;
        v += d * d;
      }
      if (hw) v = cx.warp_sum(v);
      const double r = 1.0 / dmath::sqrt(v / static_cast<double>(K) + p.eps);
      if (k0 == 0) ns[l] = mu, ns[V + l] = r;
      for (int64_t k = k0; k < K; k += kn)
        row[k * so] = static_cast<A>((static_cast<double>(row[k * so]) - mu) * r);
    }
    cx.sync();
  }
}

// One sample's distance value (undivided; every thread gets it). With `grad` set, also writes the
// distance gradient d/dys scaled by `scale` into yt (in place).
template <class A, class Ctx>
DETFORGE_HD double and_distance(Ctx& cx, const KdAttNormDistParams& p, const A* ys, A* yt,
                                int64_t C, int64_t P, bool grad, double scale) {
  using Q = KdAttNormDistParams;
  const int64_t M = C * P;
  if (p.dist == Q::kKL) {
    // a warp per (n, c) row on CUDA (lanes stride the row), the whole row serially on CPU
    double acc = 0;
    for (int64_t c = cx.warp; c < C; c += cx.nwarps) {
      const A* a = ys + c * P;
      A* b = yt + c * P;
      double ms = and_neg_inf(), mt = and_neg_inf();
      for (int64_t q = cx.lane; q < P; q += cx.lanes) {
        const double u = a[q], w = b[q];
        ms = u > ms || u != u ? u : ms;
        mt = w > mt || w != w ? w : mt;
      }
      ms = cx.warp_max(ms);
      mt = cx.warp_max(mt);
      double zs = 0, zt = 0;
      const A ams = static_cast<A>(ms), amt = static_cast<A>(mt);
      DF_KD_SIMD_SUM(zs, zt)
      for (int64_t q = cx.lane; q < P; q += cx.lanes) {
        zs += static_cast<double>(dmath::exp_fast(a[q] - ams));
        zt += static_cast<double>(dmath::exp_fast(b[q] - amt));
      }
      zs = cx.warp_sum(zs);
      zt = cx.warp_sum(zt);
      const A alzs = static_cast<A>(ms + dmath::log(zs)),
              alzt = static_cast<A>(mt + dmath::log(zt));
      if (grad) {  // the value is not needed: d KL / d ys = ps - pt
        const A as = static_cast<A>(scale);
        DF_KD_SIMD
        for (int64_t q = cx.lane; q < P; q += cx.lanes)
          b[q] = as * (dmath::exp_fast(a[q] - alzs) - dmath::exp_fast(b[q] - alzt));
        continue;
      }
      double kl = 0;
      DF_KD_SIMD_SUM(kl)
      for (int64_t q = cx.lane; q < P; q += cx.lanes) {
        const A ls = a[q] - alzs, lt = b[q] - alzt;
        kl += static_cast<double>(dmath::exp_fast(lt) * (lt - ls));
      }
      acc += kl;
    }
    const double v = cx.sum(acc);
    return v;
  }
  if (p.dist == Q::kCosine) {
    double dot = 0, ss = 0, tt = 0;
    DF_KD_SIMD_SUM(dot, ss, tt)
    for (int64_t i = cx.tid; i < M; i += cx.nt) {
      const double u = ys[i], w = yt[i];
      dot += u * w;
      ss += u * u;
      tt += w * w;
    }
    dot = cx.sum(dot);
    ss = cx.sum(ss);
    tt = cx.sum(tt);
    const double ns = dmath::sqrt(ss + 1e-12), nt = dmath::sqrt(tt + 1e-12);
    const double den = ns * nt + 1e-8;
    if (grad) {
      const double a = -scale / den, b = scale * dot * nt / (ns * den * den);
      for (int64_t i = cx.tid; i < M; i += cx.nt)
        yt[i] = static_cast<A>(a * static_cast<double>(yt[i]) + b * static_cast<double>(ys[i]));
      cx.sync();
    }
    return 1.0 - dot / den;
  }
  // L1, L2, smooth-L1: one loop per distance (branch-free bodies vectorise)
  double acc = 0;
  if (p.dist == Q::kL1) {
    DF_KD_SIMD_SUM(acc)
    for (int64_t i = cx.tid; i < M; i += cx.nt)
      acc += static_cast<double>(dmath::fabs(ys[i] - yt[i]));
  } else if (p.dist == Q::kL2) {
    DF_KD_SIMD_SUM(acc)
    for (int64_t i = cx.tid; i < M; i += cx.nt) {
      const double d = static_cast<double>(ys[i]) - static_cast<double>(yt[i]);
      acc += d * d;
    }
  } else {
    DF_KD_SIMD_SUM(acc)
    for (int64_t i = cx.tid; i < M; i += cx.nt) {
      const A d = ys[i] - yt[i], ad = dmath::fabs(d);
      acc += static_cast<double>(ad < A(1) ? A(0.5) * d * d : ad - A(0.5));
    }
  }
  double v = cx.sum(acc);
  if (p.dist == Q::kL2) v = dmath::sqrt(v + 1e-12);
  if (grad) {
    const A k = static_cast<A>(p.dist == Q::kL2 ? scale / v : scale);
    if (p.dist == Q::kL1) {
      DF_KD_SIMD
      for (int64_t i = cx.tid; i < M; i += cx.nt) yt[i] = k * and_sign(ys[i] - yt[i]);
    } else if (p.dist == Q::kL2) {
      DF_KD_SIMD
      for (int64_t i = cx.tid; i < M; i += cx.nt) yt[i] = k * (ys[i] - yt[i]);
    } else {
      DF_KD_SIMD
      for (int64_t i = cx.tid; i < M; i += cx.nt) {
        const A d = ys[i] - yt[i];
        const A c = d < A(-1) ? A(-1) : d;  // |d| < 1: d, else sign(d)
        yt[i] = k * (c > A(1) ? A(1) : c);
      }
    }
    cx.sync();
  }
  return v;
}

// Forward of one sample: the undivided distance value.
template <class T, class A, class Ctx>
DETFORGE_HD double and_forward_sample(Ctx& cx, const KdAttNormDistParams& p, const T* s, const T* t,
                                      A* scratch, int64_t C, int64_t P) {
  const int64_t V = C > P ? C : P;
  A* ys = scratch;
  A* yt = ys + C * P;
  double* w = reinterpret_cast<double*>(scratch + and_vec_offset(C, P));  // av_s, av_t, ns_s,
                                                                          // ns_t (2V each), da
  and_transform<T, A>(cx, p, s, ys, w, w + 2 * V, C, P, V);
  and_transform<T, A>(cx, p, t, yt, w + V, w + 4 * V, C, P, V);
  return and_distance<A>(cx, p, ys, yt, C, P, false, 0.0);
}

// Backward of one sample: gs = scale * d(value)/ds.
template <class T, class A, class Ctx>
DETFORGE_HD void and_backward_sample(Ctx& cx, const KdAttNormDistParams& p, const T* s, const T* t,
                                     T* gs, A* scratch, int64_t C, int64_t P, double scale) {
  using Q = KdAttNormDistParams;
  const int64_t V = C > P ? C : P;
  A* ys = scratch;
  A* dy = ys + C * P;  // yt, then the gradient in place
  double* av = reinterpret_cast<double*>(scratch + and_vec_offset(C, P));
  double* ns = av + 2 * V;
  double* da = av + 6 * V;
  and_transform<T, A>(cx, p, s, ys, av, ns, C, P, V);
  and_transform<T, A>(cx, p, t, dy, av + V, ns + 2 * V, C, P, V);
  and_distance<A>(cx, p, ys, dy, C, P, true, scale);
  if (Ctx::kSerial && p.norm == Q::kNormC) {
    // column statistics over c, accumulated row by row (the teacher's norm stats are free now)
    double* m1 = ns + 2 * V;
    double* m2 = ns + 3 * V;
    for (int64_t q = 0; q < P; ++q) m1[q] = 0.0, m2[q] = 0.0;
    for (int64_t c = 0; c < C; ++c)
      for (int64_t q = 0; q < P; ++q) {
        m1[q] += static_cast<double>(dy[c * P + q]);
        m2[q] += static_cast<double>(dy[c * P + q]) * static_cast<double>(ys[c * P + q]);
      }
    const double ic = 1.0 / static_cast<double>(C);
    for (int64_t q = 0; q < P; ++q) m1[q] *= ic, m2[q] *= ic;
    for (int64_t c = 0; c < C; ++c)
      for (int64_t q = 0; q < P; ++q) {
        const int64_t i = c * P + q;
        dy[i] = static_cast<A>(ns[V + q] * (dy[i] - m1[q] - ys[i] * m2[q]));
      }
  } else if (p.norm != Q::kNoNorm) {
    const bool hw = p.norm == Q::kNormHW;
    const int64_t L = hw ? C : P, K = hw ? P : C, lo = hw ? P : 1, so = hw ? 1 : P;
    const int64_t g0 = hw ? cx.warp : cx.tid, gn = hw ? cx.nwarps : cx.nt;
    const int64_t k0 = hw ? cx.lane : 0, kn = hw ? cx.lanes : 1;
    for (int64_t l = g0; l < L; l += gn) {
      A* g = dy + l * lo;
      const A* y = ys + l * lo;
      double m1 = 0, m2 = 0;
      DF_KD_SIMD_SUM(m1, m2)
      for (int64_t k = k0; k < K; k += kn) {
        m1 += static_cast<double>(g[k * so]);
        m2 += static_cast<double>(g[k * so]) * static_cast<double>(y[k * so]);
      }
      if (hw) m1 = cx.warp_sum(m1), m2 = cx.warp_sum(m2);
      m1 /= static_cast<double>(K);
      m2 /= static_cast<double>(K);
      const double r = static_cast<double>(ns[V + l]);
      for (int64_t k = k0; k < K; k += kn)
        g[k * so] = static_cast<A>(
            r * (static_cast<double>(g[k * so]) - m1 - static_cast<double>(y[k * so]) * m2));
    }
    cx.sync();
  }
  if (p.att == Q::kNoAtt) {
    for (int64_t i = cx.tid; i < C * P; i += cx.nt) gs[i] = cast_to<T>(dy[i]);
    return;
  }
  const bool sp = p.att == Q::kSatt;
  const int64_t L = sp ? P : C, K = sp ? C : P, so = sp ? P : 1, lo = sp ? 1 : P;
  double acc = 0;
  if (Ctx::kSerial && sp) {  // da_p = sum_c dy_cp f_cp, accumulated row by row
    for (int64_t q = 0; q < P; ++q) da[q] = 0.0;
    for (int64_t c = 0; c < C; ++c)
      for (int64_t q = 0; q < P; ++q)
        da[q] +=
            static_cast<double>(dy[c * P + q]) * static_cast<double>(static_cast<A>(s[c * P + q]));
    for (int64_t q = 0; q < P; ++q) acc += static_cast<double>(av[q]) * static_cast<double>(da[q]);
  } else {
    // catt rows are contiguous: a warp per row on CUDA; satt columns: a thread per column
    const int64_t g0 = sp ? cx.tid : cx.warp, gn = sp ? cx.nt : cx.nwarps;
    const int64_t k0 = sp ? 0 : cx.lane, kn = sp ? 1 : cx.lanes;
    for (int64_t l = g0; l < L; l += gn) {
      double d = 0;
      DF_KD_SIMD_SUM(d)
      for (int64_t k = k0; k < K; k += kn)
        d += static_cast<double>(dy[l * lo + k * so]) *
             static_cast<double>(static_cast<A>(s[l * lo + k * so]));
      if (!sp) d = cx.warp_sum(d);
      if (k0 == 0) {
        da[l] = d;
        acc += static_cast<double>(av[l]) * d;
      }
    }
  }
  const double mean_ad = cx.sum(acc) / static_cast<double>(L);
  for (int64_t l = cx.tid; l < L; l += cx.nt)
    da[l] = av[l] * (da[l] - mean_ad) / p.tau / static_cast<double>(K);
  cx.sync();
  for (int64_t c = 0; c < C; ++c)
    for (int64_t q = cx.tid; q < P; q += cx.nt) {
      const int64_t i = c * P + q, l = sp ? q : c;
      gs[i] = cast_to<T>(dy[i] * av[l] + da[l] * and_sign(static_cast<A>(s[i])));
    }
}

}  // namespace detforge::kernels::kd

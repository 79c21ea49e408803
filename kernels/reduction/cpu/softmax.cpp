// FP exceptions are not used: without trapping math GCC if-converts the selects in the element
// functors (NaN checks, clamps in dmath::exp_fast) and vectorises these loops (built with
// -fno-thread-jumps under GCC: CMakeLists.txt says why).
// CPU softmax / log_softmax, fused per row: max, sum of exp (double), one write. When the softmax
// dim is not innermost ([outer, D, inner]), vectors of `inner` columns are processed together.
#include <cmath>
#include <limits>
#include <vector>

#include "kernels/reduction/cpu/reduce_ops.h"
#include "kernels/reduction/softmax.h"
#include "tensor/dtype_cast.h"
#include "tensor/parallel.h"

namespace detforge::kernels {
namespace {

struct Geometry {
  int64_t outer = 1, D = 1, inner = 1;
};
Geometry geometry(const Tensor& t, int64_t dim) {
  Geometry g;
  for (int64_t d = 0; d < t.dim(); ++d) {
    if (d < dim)
      g.outer *= t.size(d);
    else if (d == dim)
      g.D = t.size(d);
    else
      g.inner *= t.size(d);
  }
  return g;
}

// A float row: y = e^(x - m) written once, summed in 16 float lanes (vectorised; each lane sums
// D/16 terms in [0, 1], well inside float precision for the 1e-5 tolerance), combined in double.
// `next` (the following row, or null) is prefetched one cache line per 16 elements: the row-max
// pass otherwise waits on memory while this exp-bound pass leaves the memory system idle.
inline void float_softmax_row(const float* x, float* y, int64_t D, float m, const float* next) {
  float lanes[16] = {};
  int64_t i = 0;
  for (; i + 16 <= D; i += 16) {
    if (next) __builtin_prefetch(next + i);
#pragma omp simd
    for (int k = 0; k < 16; ++k) {
      float v = dmath::exp_fast(x[i + k] - m);
      y[i + k] = v;
      lanes[k] += v;
    }
  }
  double s = 0;
  for (; i < D; ++i) {
    y[i] = dmath::exp_fast(x[i] - m);
    s += y[i];
  }
  for (float l : lanes) s += l;
  float r = static_cast<float>(1.0 / s);
#pragma omp simd
  for (int64_t j = 0; j < D; ++j) y[j] *= r;
}

template <class T>
void softmax_typed(const Tensor& out, const Tensor& in, int64_t dim, bool log) {
  using A = acc_t<T>;
  Geometry g = geometry(in, dim);
  const T* x = static_cast<const T*>(in.data_ptr());
  T* y = static_cast<T*>(out.data_ptr());
  const int64_t D = g.D, I = g.inner;
  if (I == 1) {
    parallel_for(0, g.outer, std::max<int64_t>(1, kDefaultGrain / std::max<int64_t>(1, D)),
                 [&](int64_t b, int64_t e) {
                   for (int64_t o = b; o < e; ++o) {
                     const T* xr = x + o * D;
                     T* yr = y + o * D;
                     A m = -std::numeric_limits<A>::infinity();
                     cpu_reduce::ExtremumOp<T, true>{}.row(xr, D, m);  // 16-lane vectorised max
                     if (std::isinf(m) && m < 0)
                       m = 0;  // an all -inf row: exp(-inf - 0) = 0 -> NaN like PyTorch
                     if constexpr (std::is_same_v<T, float>) {
                       if (!log) {  // one exp per element: store e^(x-m), then scale
                         float_softmax_row(xr, yr, D, m, o + 1 < e ? xr + D : nullptr);
                         continue;
                       }
                     }
                     double s = 0;
#pragma omp simd reduction(+ : s)
                     for (int64_t i = 0; i < D; ++i)
                       s += static_cast<double>(dmath::exp_fast(static_cast<A>(xr[i]) - m));
                     if (log) {
                       A ls = static_cast<A>(std::log(s));
#pragma omp simd
                       for (int64_t i = 0; i < D; ++i)
                         yr[i] = cast_to<T>((static_cast<A>(xr[i]) - m) - ls);
                     } else {
                       A r = static_cast<A>(1.0 / s);
#pragma omp simd
                       for (int64_t i = 0; i < D; ++i)
                         yr[i] = cast_to<T>(dmath::exp_fast(static_cast<A>(xr[i]) - m) * r);
                     }
                   }
                 });
    return;
  }
  parallel_for(
      0, g.outer, std::max<int64_t>(1, kDefaultGrain / std::max<int64_t>(1, D * I)),
      [&](int64_t b, int64_t e) {
        std::vector<A> m(I);
        std::vector<double> s(I);
        for (int64_t o = b; o < e; ++o) {
          const T* xo = x + o * D * I;
          T* yo = y + o * D * I;
          std::fill(m.begin(), m.end(), -std::numeric_limits<A>::infinity());
          std::fill(s.begin(), s.end(), 0.0);
          for (int64_t d = 0; d < D; ++d)
            for (int64_t j = 0; j < I; ++j) {
              A v = static_cast<A>(xo[d * I + j]);
              m[j] = (v > m[j] || v != v) ? v : m[j];
            }
          for (int64_t j = 0; j < I; ++j)
            if (std::isinf(m[j]) && m[j] < 0) m[j] = 0;
          for (int64_t d = 0; d < D; ++d)
            for (int64_t j = 0; j < I; ++j)
              s[j] += static_cast<double>(dmath::exp_fast(static_cast<A>(xo[d * I + j]) - m[j]));
          for (int64_t d = 0; d < D; ++d)
            for (int64_t j = 0; j < I; ++j) {
              A v = static_cast<A>(xo[d * I + j]) - m[j];
              yo[d * I + j] = cast_to<T>(log ? v - static_cast<A>(std::log(s[j]))
                                             : dmath::exp_fast(v) / static_cast<A>(s[j]));
            }
        }
      });
}

template <class T>
void softmax_backward_typed(const Tensor& gi, const Tensor& go, const Tensor& out, int64_t dim,
                            bool log) {
  using A = acc_t<T>;
  Geometry g = geometry(out, dim);
  const T* gp = static_cast<const T*>(go.data_ptr());
  const T* yp = static_cast<const T*>(out.data_ptr());
  T* r = static_cast<T*>(gi.data_ptr());
  const int64_t D = g.D, I = g.inner;
  parallel_for(0, g.outer * I, std::max<int64_t>(1, kDefaultGrain / std::max<int64_t>(1, D)),
               [&](int64_t b, int64_t e) {
                 for (int64_t t = b; t < e; ++t) {
                   int64_t o = t / I, j = t % I;
                   int64_t base = o * D * I + j;
                   double s = 0;
                   for (int64_t d = 0; d < D; ++d) {
                     double gv = static_cast<A>(gp[base + d * I]);
                     s += log ? gv : gv * static_cast<A>(yp[base + d * I]);
                   }
                   A sa = static_cast<A>(s);
                   for (int64_t d = 0; d < D; ++d) {
                     A gv = static_cast<A>(gp[base + d * I]), yv = static_cast<A>(yp[base + d * I]);
                     r[base + d * I] =
                         cast_to<T>(log ? gv - dmath::exp_fast(yv) * sa : yv * (gv - sa));
                   }
                 }
               });
}

void softmax_cpu(const Tensor& out, const Tensor& in, int64_t dim, bool log) {
  if (in.numel() == 0) return;
  DF_DISPATCH_FLOATING(in.dtype(), log ? "log_softmax" : "softmax",
                       [&] { softmax_typed<scalar_t>(out, in, dim, log); });
}
void softmax_backward_cpu(const Tensor& gi, const Tensor& go, const Tensor& out, int64_t dim,
                          bool log) {
  if (out.numel() == 0) return;
  DF_DISPATCH_FLOATING(out.dtype(), log ? "log_softmax_backward" : "softmax_backward",
                       [&] { softmax_backward_typed<scalar_t>(gi, go, out, dim, log); });
}

}  // namespace
DF_REGISTER_DISPATCH(softmax_stub, CPU, &softmax_cpu);
DF_REGISTER_DISPATCH(softmax_backward_stub, CPU, &softmax_backward_cpu);
}  // namespace detforge::kernels

// torchvision 0.14 Matcher element math (detection/matcher.h describes the semantics) on a
// quality matrix q [M, N] (contiguous, f32 or f64; thresholds in the matrix's dtype):
//   row_max[m]  = max_n q[m, n]                       (low-quality matches only)
//   per column n: best = max_m q[m, n] (first index on ties, NaN wins as torch.max),
//     out[n] = -1 if best < low, -2 if low <= best < high, else argmax;
//     low-quality: out[n] = argmax when q[m, n] == row_max[m] for some m.
#pragma once
#include "kernels/dispatch.h"
#include "tensor/tensor.h"

namespace detforge::kernels {

struct MatcherParams {
  double high = 0.5, low = 0.4;
  bool allow_low_quality_matches = false;
};

template <class T>
DETFORGE_HD inline bool matcher_better(T v, T best) {  // torch.max: NaN wins, ties keep the first
  return v > best || (v != v && best == best);
}

// The thresholded match of a column whose best quality is `best` at gt `arg`.
template <class T>
DETFORGE_HD inline int64_t matcher_threshold(T best, int64_t arg, T high, T low) {
  if (best < low) return -1;                  // BELOW_LOW_THRESHOLD
  if (best >= low && best < high) return -2;  // BETWEEN_THRESHOLDS
  return arg;
}

// The match of column n; row_max may be null when low-quality matches are off.
template <class T>
DETFORGE_HD inline int64_t matcher_column(const T* q, int64_t M, int64_t N, int64_t n, T high,
                                          T low, const T* row_max) {
  T best = q[n];
  int64_t arg = 0;
  for (int64_t m = 1; m < M; ++m) {
    T v = q[m * N + n];
    if (matcher_better(v, best)) {
      best = v;
      arg = m;
    }
  }
  if (row_max) {
    for (int64_t m = 0; m < M; ++m)
      if (q[m * N + n] == row_max[m]) return arg;  // NaN never equals
  }
  return matcher_threshold(best, arg, high, low);
}

// matches: int64 [N]; q: [M, N] contiguous f32/f64 with M, N > 0. No host sync.
using MatcherFn = void (*)(const MatcherParams& p, const Tensor& matches, const Tensor& q);
DF_DECLARE_DISPATCH(MatcherFn, matcher_stub);

}  // namespace detforge::kernels

// CPU Matcher: row maxima (low-quality matches only), then tiles of columns in parallel.
#include <vector>

#include "kernels/detection/matcher.h"
#include "tensor/parallel.h"

namespace detforge::kernels {
namespace {

template <class T>
void match_typed(const MatcherParams& p, const Tensor& out, const Tensor& qt) {
  const int64_t M = qt.size(0), N = qt.size(1);
  const T* q = static_cast<const T*>(qt.data_ptr());
  int64_t* o = static_cast<int64_t*>(out.data_ptr());
  std::vector<T> row_max;
  if (p.allow_low_quality_matches) {
    row_max.resize(static_cast<size_t>(M));
    parallel_for(0, M, 1, [&](int64_t b, int64_t e) {
      for (int64_t m = b; m < e; ++m) {
        // 16 lanes of selects (vectorised), then the lanes; a value maximum (NaN wins).
        const T* row = q + m * N;
        T lane[16];
        for (int k = 0; k < 16; ++k) lane[k] = row[0];
        int64_t n = 0;
        for (; n + 16 <= N; n += 16) {
#pragma omp simd
          for (int k = 0; k < 16; ++k)
            lane[k] = matcher_better(row[n + k], lane[k]) ? row[n + k] : lane[k];
        }
        T best = row[0];
        for (; n < N; ++n)
          if (matcher_better(row[n], best)) best = row[n];
        for (int k = 0; k < 16; ++k)
          if (matcher_better(lane[k], best)) best = lane[k];
        row_max[static_cast<size_t>(m)] = best;
      }
    });
  }
  const T high = static_cast<T>(p.high), low = static_cast<T>(p.low);
  const bool lq = p.allow_low_quality_matches;
  // Tiles of columns, rows outer: unit-stride (vectorised) passes instead of one stride-N walk
  // per column. Same rules as matcher_column (first index on ties, NaN wins).
  constexpr int64_t kTile = 512;
  parallel_for(0, (N + kTile - 1) / kTile, std::max<int64_t>(1, 64 / std::max<int64_t>(M, 1)),
               [&](int64_t tb, int64_t te) {
                 T best[kTile];
                 int64_t arg[kTile];
                 uint8_t hit[kTile];
                 for (int64_t t = tb; t < te; ++t) {
                   const int64_t n0 = t * kTile, len = std::min(kTile, N - n0);
                   const T* q0 = q + n0;
                   for (int64_t j = 0; j < len; ++j) {
                     best[j] = q0[j];
                     arg[j] = 0;
                     hit[j] = 0;
                   }
                   for (int64_t m = 1; m < M; ++m) {
                     const T* qm = q0 + m * N;
#pragma omp simd
                     for (int64_t j = 0; j < len; ++j) {
                       bool b = matcher_better(qm[j], best[j]);
                       best[j] = b ? qm[j] : best[j];
                       arg[j] = b ? m : arg[j];
                     }
                   }
                   if (lq) {
                     for (int64_t m = 0; m < M; ++m) {
                       const T* qm = q0 + m * N;
                       const T r = row_max[static_cast<size_t>(m)];
#pragma omp simd
                       for (int64_t j = 0; j < len; ++j) hit[j] |= qm[j] == r ? 1 : 0;
                     }
                   }
                   for (int64_t j = 0; j < len; ++j)
                     o[n0 + j] = hit[j] ? arg[j] : matcher_threshold(best[j], arg[j], high, low);
                 }
               });
}

void match_cpu(const MatcherParams& p, const Tensor& out, const Tensor& q) {
  if (q.dtype() == DType::f64)
    match_typed<double>(p, out, q);
  else
    match_typed<float>(p, out, q);
}

}  // namespace
DF_REGISTER_DISPATCH(matcher_stub, CPU, &match_cpu);
}  // namespace detforge::kernels

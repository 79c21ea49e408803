// CPU Matcher: row maxima (low-quality matches only), then columns in parallel.
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
        const T* row = q + m * N;
        T best = row[0];
        for (int64_t n = 1; n < N; ++n)
          if (matcher_better(row[n], best)) best = row[n];
        row_max[static_cast<size_t>(m)] = best;
      }
    });
  }
  const T high = static_cast<T>(p.high), low = static_cast<T>(p.low);
  const T* rm = p.allow_low_quality_matches ? row_max.data() : nullptr;
  parallel_for(0, N, std::max<int64_t>(64, 16384 / std::max<int64_t>(M, 1)),
               [&](int64_t b, int64_t e) {
                 for (int64_t n = b; n < e; ++n) o[n] = matcher_column(q, M, N, n, high, low, rm);
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

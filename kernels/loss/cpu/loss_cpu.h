// CPU helpers of the loss kernels: a deterministic chunked reduction in double.
#pragma once
#include <algorithm>
#include <array>
#include <vector>

#include "tensor/parallel.h"

namespace detforge::kernels::cpu {

// Sums K quantities over [0, n): f(begin, end, double acc[K]) adds a chunk's contributions.
// The chunking depends on n only, so the result does not depend on the thread count.
template <int K, class F>
std::array<double, K> chunked_sum(int64_t n, int64_t grain, const F& f) {
  int64_t chunks =
      std::max<int64_t>(1, std::min<int64_t>(256, (n + grain - 1) / std::max<int64_t>(grain, 1)));
  int64_t per = (n + chunks - 1) / chunks;
  std::vector<std::array<double, K>> part(static_cast<size_t>(chunks));
  parallel_for(0, chunks, 1, [&](int64_t b, int64_t e) {
    for (int64_t c = b; c < e; ++c) {
      std::array<double, K> acc{};
      int64_t lo = c * per, hi = std::min(n, lo + per);
      if (lo < hi) f(lo, hi, acc.data());
      part[static_cast<size_t>(c)] = acc;
    }
  });
  std::array<double, K> total{};
  for (auto& a : part)
    for (int k = 0; k < K; ++k) total[k] += a[k];
  return total;
}

}  // namespace detforge::kernels::cpu

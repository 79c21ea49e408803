// A plain reference GEMM for dtypes oneDNN lacks (float64): C = A @ B (+ C when accumulate), with
// arbitrary element strides for A and B and a row-major C (leading dim ldc). Rows of C run in
// parallel; each row accumulates in a contiguous buffer so the inner loop vectorises when B's
// column stride is 1. Used for gradchecks, so clarity beats speed here.
#pragma once
#include <algorithm>
#include <cstdint>
#include <vector>

#include "tensor/parallel.h"

namespace detforge::kernels::cpu {

template <class T>
void gemm_ref(int64_t M, int64_t N, int64_t K, const T* A, int64_t sam, int64_t sak, const T* B,
              int64_t sbk, int64_t sbn, T* C, int64_t ldc, bool accumulate) {
  if (M <= 0 || N <= 0) return;
  int64_t grain = std::max<int64_t>(1, 65536 / std::max<int64_t>(1, N * std::max<int64_t>(K, 1)));
  parallel_for(0, M, grain, [&](int64_t m0, int64_t m1) {
    std::vector<T> acc(N);
    constexpr int64_t kBlock = 64;  // k-block so a panel of B rows stays in cache
    for (int64_t m = m0; m < m1; ++m) {
      T* c = C + m * ldc;
      for (int64_t n = 0; n < N; ++n) acc[n] = accumulate ? c[n] : T(0);
      for (int64_t k0 = 0; k0 < K; k0 += kBlock) {
        int64_t k1 = std::min(K, k0 + kBlock);
        for (int64_t k = k0; k < k1; ++k) {
          T av = A[m * sam + k * sak];
          const T* b = B + k * sbk;
          if (sbn == 1) {
            for (int64_t n = 0; n < N; ++n) acc[n] += av * b[n];
          } else {
            for (int64_t n = 0; n < N; ++n) acc[n] += av * b[n * sbn];
          }
        }
      }
      for (int64_t n = 0; n < N; ++n) c[n] = acc[n];
    }
  });
}

}  // namespace detforge::kernels::cpu

// The elastic weight gather / scatter of ElasticConv2d (OFA-style elastic convolutions).
//
// The full weight W is [Cout_max, Cin_pg_max, K, K] (any strides). An active configuration selects
//   - output rows: the first `out` rows, or the rows out_idx[0..out)
//   - columns of dim 1: the first `in_pg` (active in channels / groups), or in_idx[0..in_pg)
//   - a kernel size k <= K (K - k even) by centre crop, with OFA's learned kernel transforms on the
//     way down: the 7->5 step is v5 = M75 (25x25) * vec(centre5(W)), the 5->3 step is
//     v3 = M53 (9x9) * vec(centre3(v5)). A step whose matrix is absent is a plain crop. A step is
//     on the chain only when it is crossed (7->5 when K == 7 and k <= 5, 5->3 when K >= 5 and
//     k <= 3); any remaining size difference is a plain centre crop.
// gather:  P[o, i, :, :] = chain(W[row(o), col(i), :, :])                     P is [out, in_pg, k,
// k] scatter: G_W[row(o), col(i), ...] += chain^T(G_P[o, i]) and G_M += the matrices' gradients.
// Each (o, i) pair is one independent work item (the indices must be distinct so the scatter is
// race free; the host side checks that); the matrix gradients are reduced over the pairs.
// Only float32 / float64 (the transforms are tiny, the pairs few).
#pragma once
#include <cstdint>

#include "kernels/dispatch.h"
#include "tensor/tensor.h"

namespace detforge::kernels {

struct ElasticWeightParams {
  int64_t out = 0, in_pg = 0;        // packed rows and columns
  int64_t K = 1, k = 1;              // full and active kernel size
  int64_t ws[4] = {0, 0, 0, 0};      // strides of W (and of its gradient: same layout, contiguous)
  const int64_t* out_idx = nullptr;  // on the kernel's device; nullptr = prefix
  const int64_t* in_idx = nullptr;
  // Matrix steps actually applied (0, 1 or 2): mat_d[j] is the step's target size (5 or 3), its
  // matrix is mat_d^2 x mat_d^2 (contiguous). A second step always is 5->3 after a 7->5 one.
  int n_mat = 0;
  int64_t mat_d[2] = {0, 0};
  DETFORGE_HD int64_t pairs() const { return out * in_pg; }
};

// Builds the step list from which matrices are given (the pointers themselves are passed apart).
inline void elastic_plan_steps(ElasticWeightParams& p, bool has75, bool has53) {
  p.n_mat = 0;
  if (has75 && p.K == 7 && p.k <= 5) p.mat_d[p.n_mat++] = 5;
  if (has53 && p.K >= 5 && p.k <= 3) p.mat_d[p.n_mat++] = 3;
}

// Offset of a flat index of a d x d centre crop inside an s x s grid.
DETFORGE_HD inline int64_t elastic_crop_pos(int64_t flat, int64_t d, int64_t s) {
  const int64_t o = (s - d) / 2;
  return (flat / d + o) * s + (flat % d + o);
}

DETFORGE_HD inline int64_t elastic_w_offset(const ElasticWeightParams& p, int64_t pair,
                                            int64_t* oi_out = nullptr) {
  const int64_t o = pair / p.in_pg, i = pair % p.in_pg;
  const int64_t r = p.out_idx ? p.out_idx[o] : o, c = p.in_idx ? p.in_idx[i] : i;
  (void)oi_out;
  return r * p.ws[0] + c * p.ws[1];
}

// Forward for one pair: writes k*k values to out (contiguous). m0 / m1: the applied matrices.
template <class T, class A>
DETFORGE_HD inline void elastic_gather_pair(const ElasticWeightParams& p, const T* w, const T* m0,
                                            const T* m1, int64_t pair, T* out) {
  const T* wb = w + elastic_w_offset(p, pair);
  const int64_t K = p.K, k = p.k, kk = k * k;
  auto wat = [&](int64_t flat_in_K) {
    return static_cast<A>(wb[(flat_in_K / K) * p.ws[2] + (flat_in_K % K) * p.ws[3]]);
  };
  if (p.n_mat == 0) {
    for (int64_t q = 0; q < kk; ++q) out[q] = static_cast<T>(wat(elastic_crop_pos(q, k, K)));
    return;
  }
  const int64_t d0 = p.mat_d[0], n0 = d0 * d0;
  A c[25];
  for (int64_t s = 0; s < n0; ++s) c[s] = wat(elastic_crop_pos(s, d0, K));
  if (p.n_mat == 1) {
    for (int64_t q = 0; q < kk; ++q) {
      const T* row = m0 + elastic_crop_pos(q, k, d0) * n0;
      A acc = 0;
      for (int64_t s = 0; s < n0; ++s) acc += static_cast<A>(row[s]) * c[s];
      out[q] = static_cast<T>(acc);
    }
    return;
  }
  A t[9];  // centre 3x3 of v5 = M75 c
  for (int64_t q = 0; q < 9; ++q) {
    const T* row = m0 + elastic_crop_pos(q, 3, 5) * 25;
    A acc = 0;
    for (int64_t s = 0; s < 25; ++s) acc += static_cast<A>(row[s]) * c[s];
    t[q] = acc;
  }
  for (int64_t q = 0; q < kk; ++q) {
    const T* row = m1 + elastic_crop_pos(q, k, 3) * 9;
    A acc = 0;
    for (int64_t s = 0; s < 9; ++s) acc += static_cast<A>(row[s]) * t[s];
    out[q] = static_cast<T>(acc);
  }
}

// Backward for one pair: g (k*k, contiguous) -> adds into gw (same strides as W); adds the
// matrix-gradient contributions through add_m0(index, value) / add_m1(index, value).
template <class T, class A, class AddM0, class AddM1>
DETFORGE_HD inline void elastic_scatter_pair(const ElasticWeightParams& p, const T* w, const T* m0,
                                             const T* m1, int64_t pair, const T* g, T* gw,
                                             bool need_m, AddM0 add_m0, AddM1 add_m1) {
  const int64_t base = elastic_w_offset(p, pair);
  const int64_t K = p.K, k = p.k, kk = k * k;
  auto off = [&](int64_t flat_in_K) {
    return base + (flat_in_K / K) * p.ws[2] + (flat_in_K % K) * p.ws[3];
  };
  if (p.n_mat == 0) {
    for (int64_t q = 0; q < kk; ++q) {
      T& d = gw[off(elastic_crop_pos(q, k, K))];
      d = static_cast<T>(static_cast<A>(d) + static_cast<A>(g[q]));
    }
    return;
  }
  const int64_t d0 = p.mat_d[0], n0 = d0 * d0;
  A c[25], gc[25], gt[25];
  for (int64_t s = 0; s < n0; ++s) {
    c[s] = need_m ? static_cast<A>(w[off(elastic_crop_pos(s, d0, K))]) : A(0);
    gc[s] = 0;
  }
  if (p.n_mat == 1) {
    for (int64_t q = 0; q < kk; ++q) gt[q] = static_cast<A>(g[q]);
    for (int64_t q = 0; q < kk; ++q) {
      const int64_t r = elastic_crop_pos(q, k, d0);
      const T* row = m0 + r * n0;
      for (int64_t s = 0; s < n0; ++s) {
        gc[s] += static_cast<A>(row[s]) * gt[q];
        if (need_m) add_m0(r * n0 + s, gt[q] * c[s]);
      }
    }
  } else {
    // t = centre3(M75 c); out = crop_k(M53 t)
    A t[9], g3[9];
    for (int64_t q = 0; q < 9; ++q) {
      g3[q] = 0;
      t[q] = 0;
      if (need_m) {
        const T* row = m0 + elastic_crop_pos(q, 3, 5) * 25;
        for (int64_t s = 0; s < 25; ++s) t[q] += static_cast<A>(row[s]) * c[s];
      }
    }
    for (int64_t q = 0; q < kk; ++q) {
      const int64_t r = elastic_crop_pos(q, k, 3);
      const A gq = static_cast<A>(g[q]);
      const T* row = m1 + r * 9;
      for (int64_t s = 0; s < 9; ++s) {
        g3[s] += static_cast<A>(row[s]) * gq;
        if (need_m) add_m1(r * 9 + s, gq * t[s]);
      }
    }
    for (int64_t q = 0; q < 9; ++q) {
      const int64_t r = elastic_crop_pos(q, 3, 5);
      const T* row = m0 + r * 25;
      for (int64_t s = 0; s < 25; ++s) {
        gc[s] += static_cast<A>(row[s]) * g3[q];
        if (need_m) add_m0(r * 25 + s, g3[q] * c[s]);
      }
    }
  }
  for (int64_t s = 0; s < n0; ++s) {
    T& d = gw[off(elastic_crop_pos(s, d0, K))];
    d = static_cast<T>(static_cast<A>(d) + gc[s]);
  }
}

// out: contiguous [out, in_pg, k, k]; m0 / m1 undefined when not applied.
using ElasticGatherFn = void (*)(const ElasticWeightParams& p, const Tensor& out, const Tensor& w,
                                 const Tensor& m0, const Tensor& m1);
// gw: W's shape and strides, accumulated into; gm0 / gm1: zero-initialised contiguous matrix
// gradients (undefined when not wanted; then both are undefined). g: contiguous packed gradient.
using ElasticScatterFn = void (*)(const ElasticWeightParams& p, const Tensor& gw, const Tensor& g,
                                  const Tensor& w, const Tensor& m0, const Tensor& m1,
                                  const Tensor& gm0, const Tensor& gm1);
DF_DECLARE_DISPATCH(ElasticGatherFn, elastic_gather_stub);
DF_DECLARE_DISPATCH(ElasticScatterFn, elastic_scatter_stub);

}  // namespace detforge::kernels

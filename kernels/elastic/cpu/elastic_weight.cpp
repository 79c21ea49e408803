// CPU elastic weight gather / scatter: parallel over (out, in) pairs; the matrix gradients are
// reduced in double per thread chunk, then summed under a lock (at most 706 values per chunk).
// With kernel transforms the chain is linear, so it is composed once per call into one kk x n0
// matrix and applied to blocks of pairs with the pair index innermost (vectorised), instead of
// the per-pair scalar chain the CUDA kernel runs (same math, different association order).
#include <algorithm>
#include <mutex>
#include <optional>
#include <vector>

#include "kernels/elastic/elastic_weight.h"
#include "tensor/dtype.h"
#include "tensor/parallel.h"

namespace detforge::kernels {
namespace {

// Prefix rows and columns at the full kernel size, no transform, (C, K, K) contiguous per row: the
// packed weight is rows of in_pg * K * K consecutive elements of W (the common case of ResNet
// supernets: 1x1 and 3x3 convs sliced in channels only). One contiguous run per row instead of a
// pair loop with per-pair index math (which dominated for 1x1 convs).
bool plain_prefix(const ElasticWeightParams& p) {
  return p.n_mat == 0 && p.k == p.K && !p.out_idx && !p.in_idx && p.ws[3] == 1 && p.ws[2] == p.K &&
         p.ws[1] == p.K * p.K;
}

template <class T>
void add_row(T* dst, const T* src, int64_t n) {
#pragma omp simd
  for (int64_t j = 0; j < n; ++j)
    dst[j] = static_cast<T>(static_cast<acc_t<T>>(dst[j]) + static_cast<acc_t<T>>(src[j]));
}

template <class T>
const T* ptr_or_null(const Tensor& t) {
  return t.defined() ? static_cast<const T*>(t.data_ptr()) : nullptr;
}

constexpr int64_t kBlock = 16;  // pairs per block: two AVX2 vectors of float per matrix row

// The transform chain of one call, in the accumulation type A. Rows are indexed by the packed
// position q (k x k) and columns by the cropped weight position s (d0 x d0).
template <class A>
struct Chain {
  int64_t kk = 0, n0 = 0;
  std::vector<A> E;           // kk x n0: the whole chain (crop rows of M1 x crop rows of M0)
  std::vector<A> m1c, m0c;    // two-step chain only: kk x 9 and 9 x 25 (for the matrix grads)
  std::vector<int64_t> woff;  // n0 offsets of the d0 x d0 centre inside one (o, i) kernel of W
  std::vector<int64_t> row0;  // kk (one step) or 9 (two steps): the M0 row of each E / m0c row
  std::vector<int64_t> row1;  // kk: the M1 row of each m1c row (two steps)

  template <class T>
  Chain(const ElasticWeightParams& p, const T* m0, const T* m1) {
    const int64_t d0 = p.mat_d[0], k = p.k;
    kk = k * k;
    n0 = d0 * d0;
    for (int64_t s = 0; s < n0; ++s) {
      const int64_t pos = elastic_crop_pos(s, d0, p.K);
      woff.push_back((pos / p.K) * p.ws[2] + (pos % p.K) * p.ws[3]);
    }
    E.assign(kk * n0, A(0));
    if (p.n_mat == 1) {
      for (int64_t q = 0; q < kk; ++q) {
        row0.push_back(elastic_crop_pos(q, k, d0));
        for (int64_t s = 0; s < n0; ++s) E[q * n0 + s] = static_cast<A>(m0[row0[q] * n0 + s]);
      }
      return;
    }
    m0c.resize(9 * 25);
    m1c.resize(kk * 9);
    for (int64_t t = 0; t < 9; ++t) {
      row0.push_back(elastic_crop_pos(t, 3, 5));
      for (int64_t s = 0; s < 25; ++s) m0c[t * 25 + s] = static_cast<A>(m0[row0[t] * 25 + s]);
    }
    for (int64_t q = 0; q < kk; ++q) {
      row1.push_back(elastic_crop_pos(q, k, 3));
      for (int64_t t = 0; t < 9; ++t) m1c[q * 9 + t] = static_cast<A>(m1[row1[q] * 9 + t]);
    }
    for (int64_t q = 0; q < kk; ++q)
      for (int64_t t = 0; t < 9; ++t)
        for (int64_t s = 0; s < 25; ++s) E[q * 25 + s] += m1c[q * 9 + t] * m0c[t * 25 + s];
  }
};

// y[m][:] (+)= sum_n M[m][n] x[n][:] over a block (rows of kBlock pairs); transposed: M[n][m].
template <class A, bool kTransposed>
void block_matmul(A (*y)[kBlock], const A* M, int64_t rows, int64_t cols, const A (*x)[kBlock]) {
  for (int64_t m = 0; m < rows; ++m) {
    A acc[kBlock] = {};
    for (int64_t n = 0; n < cols; ++n) {
      const A e = kTransposed ? M[n * rows + m] : M[m * cols + n];
#pragma omp simd
      for (int64_t b = 0; b < kBlock; ++b) acc[b] += e * x[n][b];
    }
    for (int64_t b = 0; b < kBlock; ++b) y[m][b] = acc[b];
  }
}

// acc[row[m] * ld + n] += sum_b a[m][b] c[n][b]: one block's share of a matrix gradient.
template <class A>
void block_outer(std::vector<double>& acc, const int64_t* row, int64_t ld, const A (*a)[kBlock],
                 int64_t rows, const A (*c)[kBlock], int64_t cols) {
  for (int64_t m = 0; m < rows; ++m)
    for (int64_t n = 0; n < cols; ++n) {
      A d = 0;
#pragma omp simd reduction(+ : d)
      for (int64_t b = 0; b < kBlock; ++b) d += a[m][b] * c[n][b];
      acc[row[m] * ld + n] += static_cast<double>(d);
    }
}

// C[s][b] = the n0 cropped weights of pair lo + b (zero past nb, so the tail adds nothing).
template <class T, class A>
void load_crops(const ElasticWeightParams& p, const Chain<A>& ch, const T* w, int64_t lo,
                int64_t nb, A (*C)[kBlock]) {
  for (int64_t b = 0; b < kBlock; ++b) {
    const T* wb = b < nb ? w + elastic_w_offset(p, lo + b) : nullptr;
    for (int64_t s = 0; s < ch.n0; ++s) C[s][b] = wb ? static_cast<A>(wb[ch.woff[s]]) : A(0);
  }
}

template <class T, class A>
void gather_chain(const ElasticWeightParams& p, const Chain<A>& ch, const T* w, T* out, int64_t lo,
                  int64_t hi) {
  A C[25][kBlock], P[25][kBlock];
  for (int64_t b0 = lo; b0 < hi; b0 += kBlock) {
    const int64_t nb = std::min(kBlock, hi - b0);
    load_crops<T, A>(p, ch, w, b0, nb, C);
    block_matmul<A, false>(P, ch.E.data(), ch.kk, ch.n0, C);
    for (int64_t b = 0; b < nb; ++b)
      for (int64_t q = 0; q < ch.kk; ++q) out[(b0 + b) * ch.kk + q] = static_cast<T>(P[q][b]);
  }
}

template <class T, class A>
void scatter_chain(const ElasticWeightParams& p, const Chain<A>& ch, const T* w, const T* g, T* gw,
                   bool need_m, std::vector<double>& acc0, std::vector<double>& acc1, int64_t lo,
                   int64_t hi) {
  A G[25][kBlock], gC[25][kBlock], C[25][kBlock], T9[9][kBlock], G3[9][kBlock];
  const int64_t kk = ch.kk, n0 = ch.n0;
  for (int64_t b0 = lo; b0 < hi; b0 += kBlock) {
    const int64_t nb = std::min(kBlock, hi - b0);
    for (int64_t q = 0; q < kk; ++q)
      for (int64_t b = 0; b < kBlock; ++b)
        G[q][b] = b < nb ? static_cast<A>(g[(b0 + b) * kk + q]) : A(0);
    block_matmul<A, true>(gC, ch.E.data(), n0, kk, G);  // gC = E^T G
    for (int64_t b = 0; b < nb; ++b) {
      T* d = gw + elastic_w_offset(p, b0 + b);
      for (int64_t s = 0; s < n0; ++s)
        d[ch.woff[s]] = static_cast<T>(static_cast<A>(d[ch.woff[s]]) + gC[s][b]);
    }
    if (!need_m) continue;
    load_crops<T, A>(p, ch, w, b0, nb, C);
    if (p.n_mat == 1) {
      block_outer<A>(acc0, ch.row0.data(), n0, G, kk, C, n0);  // dM0 = G C^T
      continue;
    }
    block_matmul<A, false>(T9, ch.m0c.data(), 9, 25, C);     // t = centre3(M75 c)
    block_outer<A>(acc1, ch.row1.data(), 9, G, kk, T9, 9);   // dM53 = G t^T
    block_matmul<A, true>(G3, ch.m1c.data(), 9, kk, G);      // g3 = M53c^T G
    block_outer<A>(acc0, ch.row0.data(), 25, G3, 9, C, 25);  // dM75 = g3 c^T
  }
}

void elastic_gather_cpu(const ElasticWeightParams& p, const Tensor& out, const Tensor& w,
                        const Tensor& m0, const Tensor& m1) {
  const int64_t n = p.pairs(), kk = p.k * p.k;
  if (n == 0) return;
  DF_DISPATCH_FLOATING(w.dtype(), "elastic_weight", [&] {
    using T = scalar_t;
    T* o = static_cast<T*>(out.data_ptr());
    const T* wp = static_cast<const T*>(w.data_ptr());
    const T *a = ptr_or_null<T>(m0), *b = ptr_or_null<T>(m1);
    if (plain_prefix(p)) {
      const int64_t row = p.in_pg * kk;
      parallel_for(0, p.out, std::max<int64_t>(1, kDefaultGrain / row),
                   [&](int64_t lo, int64_t hi) {
                     for (int64_t r = lo; r < hi; ++r)
                       std::copy(wp + r * p.ws[0], wp + r * p.ws[0] + row, o + r * row);
                   });
      return;
    }
    if (p.n_mat) {
      const Chain<acc_t<T>> ch(p, a, b);
      const int64_t grain = std::max<int64_t>(kBlock, kDefaultGrain / (kk * ch.n0));
      parallel_for(0, n, grain,
                   [&](int64_t lo, int64_t hi) { gather_chain(p, ch, wp, o, lo, hi); });
      return;
    }
    parallel_for(0, n, std::max<int64_t>(1, kDefaultGrain / kk), [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i)
        elastic_gather_pair<T, acc_t<T>>(p, wp, a, b, i, o + i * kk);
    });
  });
}

void elastic_scatter_cpu(const ElasticWeightParams& p, const Tensor& gw, const Tensor& g,
                         const Tensor& w, const Tensor& m0, const Tensor& m1, const Tensor& gm0,
                         const Tensor& gm1) {
  const int64_t n = p.pairs(), kk = p.k * p.k;
  if (n == 0) return;
  const bool need_m = gm0.defined() || gm1.defined();
  DF_DISPATCH_FLOATING(w.dtype(), "elastic_weight_backward", [&] {
    using T = scalar_t;
    T* gwp = static_cast<T*>(gw.data_ptr());
    const T* gp = static_cast<const T*>(g.data_ptr());
    const T* wp = static_cast<const T*>(w.data_ptr());
    const T *a = ptr_or_null<T>(m0), *b = ptr_or_null<T>(m1);
    T* ga = gm0.defined() ? static_cast<T*>(gm0.data_ptr()) : nullptr;
    T* gb = gm1.defined() ? static_cast<T*>(gm1.data_ptr()) : nullptr;
    if (plain_prefix(p) && !need_m) {
      const int64_t row = p.in_pg * kk;
      parallel_for(0, p.out, std::max<int64_t>(1, kDefaultGrain / row),
                   [&](int64_t lo, int64_t hi) {
                     for (int64_t r = lo; r < hi; ++r)
                       add_row(gwp + r * p.ws[0], gp + r * row, row);
                   });
      return;
    }
    std::mutex mu;
    std::optional<Chain<acc_t<T>>> ch;
    if (p.n_mat) ch.emplace(p, a, b);
    const int64_t work = kk * (p.n_mat ? ch->n0 * (need_m ? 4 : 1) : 1);
    const int64_t grain = std::max<int64_t>(p.n_mat ? kBlock : 1, kDefaultGrain / work);
    parallel_for(0, n, grain, [&](int64_t lo, int64_t hi) {
      std::vector<double> acc0(need_m ? 625 : 0), acc1(need_m ? 81 : 0);
      if (ch) {
        scatter_chain(p, *ch, wp, gp, gwp, need_m, acc0, acc1, lo, hi);
      } else {
        auto add0 = [&](int64_t idx, acc_t<T> v) { acc0[idx] += v; };
        auto add1 = [&](int64_t idx, acc_t<T> v) { acc1[idx] += v; };
        for (int64_t i = lo; i < hi; ++i)
          elastic_scatter_pair<T, acc_t<T>>(p, wp, a, b, i, gp + i * kk, gwp, need_m, add0, add1);
      }
      if (!need_m) return;
      std::lock_guard<std::mutex> lock(mu);
      if (ga)
        for (int64_t j = 0; j < gm0.numel(); ++j)
          ga[j] = static_cast<T>(static_cast<double>(ga[j]) + acc0[j]);
      if (gb)
        for (int64_t j = 0; j < gm1.numel(); ++j)
          gb[j] = static_cast<T>(static_cast<double>(gb[j]) + acc1[j]);
    });
  });
}

}  // namespace
DF_REGISTER_DISPATCH(elastic_gather_stub, CPU, &elastic_gather_cpu);
DF_REGISTER_DISPATCH(elastic_scatter_stub, CPU, &elastic_scatter_cpu);
}  // namespace detforge::kernels

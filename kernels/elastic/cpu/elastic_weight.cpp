// CPU elastic weight gather / scatter: parallel over (out, in) pairs; the matrix gradients are
// reduced in double per thread chunk, then summed under a lock (at most 706 values per chunk).
#include <algorithm>
#include <mutex>
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
    const int64_t work = kk * (p.n_mat ? 25 : 1);
    parallel_for(0, n, std::max<int64_t>(1, kDefaultGrain / work), [&](int64_t lo, int64_t hi) {
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
    const int64_t work = kk * (p.n_mat ? 50 : 1);
    parallel_for(0, n, std::max<int64_t>(1, kDefaultGrain / work), [&](int64_t lo, int64_t hi) {
      std::vector<double> acc0(need_m ? 625 : 0), acc1(need_m ? 81 : 0);
      auto add0 = [&](int64_t idx, acc_t<T> v) { acc0[idx] += v; };
      auto add1 = [&](int64_t idx, acc_t<T> v) { acc1[idx] += v; };
      for (int64_t i = lo; i < hi; ++i)
        elastic_scatter_pair<T, acc_t<T>>(p, wp, a, b, i, gp + i * kk, gwp, need_m, add0, add1);
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

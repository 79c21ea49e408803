// CPU element loops: out[i] = f(in_0[i], ..., in_{N-1}[i]) over one shape with arbitrary strides.
// Inputs must already be broadcast (expanded) to out's shape. Values reach f as acc_t<T>.
#pragma once
#include <array>
#include <tuple>
#include <utility>

#include "tensor/dtype_cast.h"
#include "tensor/parallel.h"
#include "tensor/strided_index.h"
#include "tensor/tensor.h"

#if defined(__GNUC__) || defined(__clang__)
#define DF_RESTRICT __restrict__
#else
#define DF_RESTRICT
#endif

namespace detforge::kernels::cpu {

namespace detail {
template <int N>
struct Odometer {
  const StridedIndex<N>& idx;
  int64_t counter[kMaxIndexDims] = {};
  int64_t off[N];
  Odometer(const StridedIndex<N>& ix, int64_t start) : idx(ix) {
    idx.offsets(start, off);
    int64_t r = start;
    for (int d = 0; d < idx.ndim; ++d) {
      counter[d] = r % idx.sizes[d];
      r /= idx.sizes[d];
    }
  }
  void next() {
    for (int d = 0; d < idx.ndim; ++d) {
      for (int k = 0; k < N; ++k) off[k] += idx.strides[k][d];
      if (++counter[d] < idx.sizes[d]) return;
      for (int k = 0; k < N; ++k) off[k] -= idx.strides[k][d] * idx.sizes[d];
      counter[d] = 0;
    }
  }
};

template <class OutT, class... InTs, class F, size_t... I>
void map_impl(const Tensor& out, const std::array<Tensor, sizeof...(InTs)>& ins, const F& f,
              std::index_sequence<I...>) {
  constexpr int N = sizeof...(InTs) + 1;
  int64_t n = out.numel();
  if (n == 0) return;
  OutT* o = static_cast<OutT*>(out.data_ptr());
  std::tuple<const InTs*...> in_ptrs{static_cast<const InTs*>(ins[I].data_ptr())...};
  bool contiguous = out.is_contiguous() && (ins[I].is_contiguous() && ...);
  if (contiguous) {
    // Same index for every operand (in-place aliasing is element-wise), so `omp simd` is safe.
    parallel_for(0, n, kDefaultGrain, [&](int64_t b, int64_t e) DETFORGE_FLATTEN {
      OutT* DF_RESTRICT op = o;
      const auto ptrs = in_ptrs;
#pragma omp simd
      for (int64_t i = b; i < e; ++i)
        op[i] = cast_to<OutT>(f(static_cast<acc_t<InTs>>(std::get<I>(ptrs)[i])...));
    });
    return;
  }
  // Strided: the innermost (collapsed) dim runs as an inner loop with per-operand strides; the
  // common broadcast cases (inner strides 0 or 1) then vectorise. Rows are the parallel unit.
  const std::vector<int64_t> st[N] = {out.strides(), ins[I].strides()...};
  auto idx = make_strided_index<N>(out.shape(), st);
  const int64_t L = idx.ndim > 0 ? idx.sizes[0] : 1;
  const int64_t rows = n / L;
  int64_t is[N];
  for (int k = 0; k < N; ++k) is[k] = idx.ndim > 0 ? idx.strides[k][0] : 0;
  StridedIndex<N> outer = idx;  // dims 1.. (rows)
  if (idx.ndim > 0) {
    outer.ndim = idx.ndim - 1;
    for (int d = 0; d < outer.ndim; ++d) {
      outer.sizes[d] = idx.sizes[d + 1];
      for (int k = 0; k < N; ++k) outer.strides[k][d] = idx.strides[k][d + 1];
    }
  }
  const bool unit = ((is[I + 1] <= 1) && ...) && is[0] == 1;
  parallel_for(
      0, rows, std::max<int64_t>(1, kDefaultGrain / L), [&](int64_t b, int64_t e) DETFORGE_FLATTEN {
        Odometer<N> od(outer, b);
        for (int64_t r = b; r < e; ++r, od.next()) {
          OutT* orow = o + od.off[0];
          if (unit) {
            const std::tuple<const InTs*...> rp{std::get<I>(in_ptrs) + od.off[I + 1]...};
            const int64_t s_[N] = {is[0], is[I + 1]...};
#pragma omp simd
            for (int64_t j = 0; j < L; ++j)
              orow[j] =
                  cast_to<OutT>(f(static_cast<acc_t<InTs>>(std::get<I>(rp)[j * s_[I + 1]])...));
          } else {
            for (int64_t j = 0; j < L; ++j)
              orow[j * is[0]] = cast_to<OutT>(f(static_cast<acc_t<InTs>>(
                  std::get<I>(in_ptrs)[od.off[I + 1] + j * is[I + 1]])...));
          }
        }
      });
}
}  // namespace detail

// out[i] = f(ins[0][i], ...). OutT/InTs must equal the tensors' dtypes.
template <class OutT, class... InTs, class F>
void map(const Tensor& out, const std::array<Tensor, sizeof...(InTs)>& ins, const F& f) {
  detail::map_impl<OutT, InTs...>(out, ins, f, std::index_sequence_for<InTs...>{});
}

}  // namespace detforge::kernels::cpu

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
    parallel_for(0, n, kDefaultGrain, [&](int64_t b, int64_t e) {
      auto ptrs = in_ptrs;
      for (int64_t i = b; i < e; ++i)
        o[i] = cast_to<OutT>(f(static_cast<acc_t<InTs>>(std::get<I>(ptrs)[i])...));
    });
    return;
  }
  const std::vector<int64_t> st[N] = {out.strides(), ins[I].strides()...};
  auto idx = make_strided_index<N>(out.shape(), st);
  parallel_for(0, n, kDefaultGrain, [&](int64_t b, int64_t e) {
    Odometer<N> od(idx, b);
    for (int64_t i = b; i < e; ++i) {
      o[od.off[0]] = cast_to<OutT>(f(static_cast<acc_t<InTs>>(std::get<I>(in_ptrs)[od.off[I + 1]])...));
      od.next();
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

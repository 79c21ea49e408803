// CPU reduction driver shared by the reduction kernels. The input is presented as a view whose
// trailing `n_reduced` dims are reduced (any strides). After collapsing, one of three loops runs:
//  - row:    the innermost reduced dim has stride 1 -> each output reduces contiguous segments
//            (vectorised row kernels; one long row is split across threads with partial states);
//  - column: the innermost kept dim has stride 1 (e.g. dim 0 of [N, C]) -> contiguous vectors of
//            outputs are updated together, one input row at a time (vectorised over outputs);
//  - generic: strided walk per output.
// An Op supplies: State, init(), add(State&, V), merge(State&, const State&),
// finish(const State&, int64_t n, int64_t out_index) -> output value, and optionally
// row(const T*, int64_t, State&) for contiguous segments.
#pragma once
#include <algorithm>
#include <type_traits>
#include <vector>

#include "tensor/dtype_cast.h"
#include "tensor/parallel.h"
#include "tensor/strided_index.h"
#include "tensor/tensor.h"

namespace detforge::kernels::cpu_reduce {

struct Layout {
  StridedIndex<1> outer, red;  // innermost first
  int64_t n_out = 1, n_in = 1;
};

inline Layout make_layout(const Tensor& in, int n_reduced) {
  const auto& sh = in.shape();
  const auto& st = in.strides();
  size_t k = sh.size() - static_cast<size_t>(n_reduced);
  Shape osh(sh.begin(), sh.begin() + k), ost(st.begin(), st.begin() + k);
  Shape rsh(sh.begin() + k, sh.end()), rst(st.begin() + k, st.end());
  const std::vector<int64_t> os[1] = {ost}, rs[1] = {rst};
  Layout l;
  l.outer = make_strided_index<1>(osh, os);
  l.red = make_strided_index<1>(rsh, rs);
  l.n_out = shape_numel(osh);
  l.n_in = shape_numel(rsh);
  return l;
}

// Walks the offsets of an index from a start position (no divisions per step).
struct Walker {
  const StridedIndex<1>& idx;
  int64_t counter[kMaxIndexDims] = {};
  int64_t off = 0;
  int first;  // dims below `first` are skipped (handled by the caller)
  Walker(const StridedIndex<1>& ix, int64_t start, int first_dim = 0) : idx(ix), first(first_dim) {
    int64_t r = start;
    for (int d = first; d < idx.ndim; ++d) {
      counter[d] = r % idx.sizes[d];
      r /= idx.sizes[d];
      off += counter[d] * idx.strides[0][d];
    }
  }
  void next() {
    for (int d = first; d < idx.ndim; ++d) {
      off += idx.strides[0][d];
      if (++counter[d] < idx.sizes[d]) return;
      off -= idx.strides[0][d] * idx.sizes[d];
      counter[d] = 0;
    }
  }
};

template <class Op, class = void>
struct has_row : std::false_type {};
template <class Op>
struct has_row<Op, std::void_t<decltype(&Op::row)>> : std::true_type {};

template <class T, class Op>
void row_segment(const Op& op, const T* p, int64_t len, typename Op::State& s) {
  if constexpr (has_row<Op>::value) {
    op.row(p, len, s);
  } else {
    for (int64_t i = 0; i < len; ++i) op.add(s, static_cast<acc_t<T>>(p[i]));
  }
}

// out: contiguous, n_out elements of OutT.
template <class T, class OutT, class Op>
void reduce(const Op& op, OutT* out, const Tensor& in, int n_reduced) {
  using S = typename Op::State;
  Layout l = make_layout(in, n_reduced);
  const T* src = static_cast<const T*>(in.data_ptr());
  const int64_t n_out = l.n_out, n_in = l.n_in;
  if (n_out == 0) return;
  const int nt = num_threads();
  const StridedIndex<1>& R = l.red;
  const StridedIndex<1>& O = l.outer;

  if (n_in == 0 || R.ndim == 0) {  // nothing (or one element) reduced per output
    parallel_for(0, n_out, kDefaultGrain, [&](int64_t b, int64_t e) {
      Walker w(O, b);
      for (int64_t o = b; o < e; ++o, w.next()) {
        S s = op.init();
        if (n_in == 1) op.add(s, static_cast<acc_t<T>>(src[w.off]));
        out[o] = cast_to<OutT>(op.finish(s, n_in, o));
      }
    });
    return;
  }

  if (R.strides[0][0] == 1) {  // ---- row mode ----
    const int64_t L = R.sizes[0], segs = n_in / L;
    if (n_out < nt && segs == 1 && L >= 2 * kDefaultGrain) {  // few long rows: split each row
      for (int64_t o = 0; o < n_out; ++o) {
        int64_t base;
        O.offsets(o, &base);
        std::vector<S> part(nt, op.init());
        int64_t chunk = (L + nt - 1) / nt;
        parallel_for(0, nt, 1, [&](int64_t b, int64_t e) {
          for (int64_t t = b; t < e; ++t) {
            int64_t s0 = t * chunk, s1 = std::min(L, s0 + chunk);
            if (s0 < s1) row_segment<T>(op, src + base + s0, s1 - s0, part[t]);
          }
        });
        S s = part[0];
        for (int t = 1; t < nt; ++t) op.merge(s, part[t]);
        out[o] = cast_to<OutT>(op.finish(s, n_in, o));
      }
      return;
    }
    parallel_for(0, n_out, std::max<int64_t>(1, kDefaultGrain / n_in), [&](int64_t b, int64_t e) {
      Walker w(O, b);
      for (int64_t o = b; o < e; ++o, w.next()) {
        S s = op.init();
        Walker r(R, 0, 1);
        for (int64_t g = 0; g < segs; ++g, r.next()) row_segment<T>(op, src + w.off + r.off, L, s);
        out[o] = cast_to<OutT>(op.finish(s, n_in, o));
      }
    });
    return;
  }

  if (O.ndim > 0 && O.strides[0][0] == 1) {  // ---- column mode ----
    const int64_t B = O.sizes[0], P = n_out / B;
    constexpr int64_t kBlock = 512;
    const int64_t nblk = (B + kBlock - 1) / kBlock;
    auto run_block = [&](int64_t p, int64_t blk, int64_t r0, int64_t r1, S* st) {
      int64_t b0 = blk * kBlock, bl = std::min(kBlock, B - b0);
      int64_t pbase;
      O.offsets(p * B, &pbase);
      const T* base = src + pbase + b0;
      Walker r(R, r0);
      int64_t i = r0;
      // Four reduced rows per pass: the accumulator is loaded and stored once per four adds
      // (same order of additions as one row at a time, so results are unchanged).
      for (; i + 4 <= r1; i += 4) {
        const T* q0 = base + r.off;
        r.next();
        const T* q1 = base + r.off;
        r.next();
        const T* q2 = base + r.off;
        r.next();
        const T* q3 = base + r.off;
        r.next();
#pragma omp simd
        for (int64_t j = 0; j < bl; ++j) {
          S a = st[j];
          op.add(a, static_cast<acc_t<T>>(q0[j]));
          op.add(a, static_cast<acc_t<T>>(q1[j]));
          op.add(a, static_cast<acc_t<T>>(q2[j]));
          op.add(a, static_cast<acc_t<T>>(q3[j]));
          st[j] = a;
        }
      }
      for (; i < r1; ++i, r.next()) {
        const T* q = base + r.off;
#pragma omp simd
        for (int64_t j = 0; j < bl; ++j) op.add(st[j], static_cast<acc_t<T>>(q[j]));
      }
    };
    if (P * nblk < nt && n_in >= 4 * nt) {  // few output blocks: split the reduced range
      std::vector<std::vector<S>> part(nt, std::vector<S>(B, op.init()));
      int64_t chunk = (n_in + nt - 1) / nt;
      for (int64_t p = 0; p < P; ++p) {
        for (auto& v : part) std::fill(v.begin(), v.end(), op.init());
        parallel_for(0, nt, 1, [&](int64_t b, int64_t e) {
          for (int64_t t = b; t < e; ++t) {
            int64_t r0 = t * chunk, r1 = std::min(n_in, r0 + chunk);
            if (r0 >= r1) continue;
            for (int64_t blk = 0; blk < nblk; ++blk)
              run_block(p, blk, r0, r1, part[t].data() + blk * kBlock);
          }
        });
        for (int64_t j = 0; j < B; ++j) {
          S s = part[0][j];
          for (int t = 1; t < nt; ++t) op.merge(s, part[t][j]);
          out[p * B + j] = cast_to<OutT>(op.finish(s, n_in, p * B + j));
        }
      }
      return;
    }
    int64_t grain = std::max<int64_t>(1, kDefaultGrain / std::max<int64_t>(1, n_in * kBlock));
    parallel_for(0, P * nblk, grain, [&](int64_t b, int64_t e) {
      std::vector<S> st(kBlock);
      for (int64_t task = b; task < e; ++task) {
        int64_t p = task / nblk, blk = task % nblk;
        int64_t b0 = blk * kBlock, bl = std::min(kBlock, B - b0);
        std::fill(st.begin(), st.begin() + bl, op.init());
        run_block(p, blk, 0, n_in, st.data());
        for (int64_t j = 0; j < bl; ++j)
          out[p * B + b0 + j] = cast_to<OutT>(op.finish(st[j], n_in, p * B + b0 + j));
      }
    });
    return;
  }

  // ---- generic ----
  parallel_for(0, n_out, std::max<int64_t>(1, kDefaultGrain / n_in), [&](int64_t b, int64_t e) {
    Walker w(O, b);
    for (int64_t o = b; o < e; ++o, w.next()) {
      S s = op.init();
      Walker r(R, 0);
      for (int64_t i = 0; i < n_in; ++i, r.next())
        op.add(s, static_cast<acc_t<T>>(src[w.off + r.off]));
      out[o] = cast_to<OutT>(op.finish(s, n_in, o));
    }
  });
}

}  // namespace detforge::kernels::cpu_reduce

// Accumulator policies for cpu_reduce::reduce (see reduce_core.h).
#pragma once
#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>

#include "kernels/math.h"
#include "tensor/dtype.h"

namespace detforge::kernels::cpu_reduce {

// Element transforms applied before summing, and finishers applied to the sum.
struct Ident {
  template <class A>
  A operator()(A v) const {
    return v;
  }
};
struct Abs {
  template <class A>
  A operator()(A v) const {
    return v < A(0) ? -v : v;
  }
};
struct Square {
  template <class A>
  A operator()(A v) const {
    return v * v;
  }
};
struct NoFin {
  template <class A>
  A operator()(A s, int64_t) const {
    return s;
  }
};
struct Mean {
  template <class A>
  A operator()(A s, int64_t n) const {
    return s / static_cast<A>(n);
  }
};
struct Sqrt {
  template <class A>
  A operator()(A s, int64_t) const {
    return std::sqrt(s);
  }
};

template <class T>
using sum_acc_t = std::conditional_t<std::is_floating_point_v<acc_t<T>>, double, int64_t>;

template <class T, class Tr, class Fin = NoFin>
struct SumOp {
  using State = sum_acc_t<T>;
  static State init() { return State(0); }
  void add(State& s, acc_t<T> v) const { s += Tr{}(static_cast<State>(v)); }
  static void merge(State& a, const State& b) { a += b; }
  State finish(const State& s, int64_t n, int64_t) const { return Fin{}(s, n); }
  // 16 independent lanes: the compiler vectorises this without reassociating a single sum.
  void row(const T* p, int64_t n, State& s) const {
    constexpr int K = 16;
    State a[K] = {};
    int64_t i = 0;
    for (; i + K <= n; i += K)
      for (int k = 0; k < K; ++k) a[k] += Tr{}(static_cast<State>(static_cast<acc_t<T>>(p[i + k])));
    for (; i < n; ++i) a[0] += Tr{}(static_cast<State>(static_cast<acc_t<T>>(p[i])));
    for (int w = K / 2; w > 0; w /= 2)
      for (int k = 0; k < w; ++k) a[k] += a[k + w];
    s += a[0];
  }
};

// var/std by Welford/Chan: (count, mean, M2); contiguous segments use two vectorised passes.
template <class T>
struct WelfordOp {
  struct State {
    double n, mean, m2;
  };
  double correction = 1;
  bool take_sqrt = false;
  static State init() { return {0, 0, 0}; }
  void add(State& s, acc_t<T> v) const {
    double x = static_cast<double>(v);
    s.n += 1;
    double d = x - s.mean;
    s.mean += d / s.n;
    s.m2 += d * (x - s.mean);
  }
  static void merge(State& a, const State& b) {
    if (b.n == 0) return;
    if (a.n == 0) {
      a = b;
      return;
    }
    double n = a.n + b.n, d = b.mean - a.mean;
    a.mean += d * (b.n / n);
    a.m2 += b.m2 + d * d * (a.n * b.n / n);
    a.n = n;
  }
  double finish(const State& s, int64_t, int64_t) const {
    double den = std::max(0.0, s.n - correction);  // 0/0 -> NaN, x/0 -> inf, as PyTorch
    double v = s.m2 / den;
    return take_sqrt ? std::sqrt(v) : v;
  }
  void row(const T* p, int64_t n, State& s) const {
    double sum = 0;
    SumOp<T, Ident>{}.row(p, n, sum);
    double m = sum / static_cast<double>(n);
    constexpr int K = 16;
    double a[K] = {};
    int64_t i = 0;
    for (; i + K <= n; i += K)
      for (int k = 0; k < K; ++k) {
        double d = static_cast<double>(static_cast<acc_t<T>>(p[i + k])) - m;
        a[k] += d * d;
      }
    for (; i < n; ++i) {
      double d = static_cast<double>(static_cast<acc_t<T>>(p[i])) - m;
      a[0] += d * d;
    }
    for (int w = K / 2; w > 0; w /= 2)
      for (int k = 0; k < w; ++k) a[k] += a[k + w];
    merge(s, State{static_cast<double>(n), m, a[0]});
  }
};

template <class T>
struct ProdOp {
  using State = sum_acc_t<T>;
  static State init() { return State(1); }
  void add(State& s, acc_t<T> v) const { s *= static_cast<State>(v); }
  static void merge(State& a, const State& b) { a *= b; }
  State finish(const State& s, int64_t, int64_t) const { return s; }
};

// max/min with NaN propagation (a NaN anywhere makes the result NaN, as PyTorch).
template <class T, bool IsMax>
struct ExtremumOp {
  using A = acc_t<T>;
  using State = A;
  static State init() {
    if constexpr (std::is_floating_point_v<A>)
      return IsMax ? -std::numeric_limits<A>::infinity() : std::numeric_limits<A>::infinity();
    else
      return IsMax ? std::numeric_limits<A>::lowest() : std::numeric_limits<A>::max();
  }
  static bool better(A v, A s) { return IsMax ? (v > s || v != v) : (v < s || v != v); }
  void add(State& s, A v) const { s = better(v, s) ? v : s; }
  static void merge(State& a, const State& b) { a = better(b, a) ? b : a; }
  State finish(const State& s, int64_t, int64_t) const { return s; }
  // 16 lanes of plain compare-selects (maxps / minps) plus a separate NaN flag: the NaN-aware
  // `better` inside the lane loop made GCC emit scalar compares and branches.
  void row(const T* p, int64_t n, State& s) const {
    constexpr int K = 16;
    A a[K];
    int nan[K];
    for (int k = 0; k < K; ++k) {
      a[k] = s;
      nan[k] = 0;
    }
    int64_t i = 0;
    for (; i + K <= n; i += K)
#pragma omp simd
      for (int k = 0; k < K; ++k) {
        A v = static_cast<A>(p[i + k]);
        a[k] = (IsMax ? v > a[k] : v < a[k]) ? v : a[k];
        if constexpr (std::is_floating_point_v<A>) nan[k] |= (v != v);
      }
    for (; i < n; ++i) add(a[0], static_cast<A>(p[i]));
    for (int k = 0; k < K; ++k) merge(s, a[k]);
    if constexpr (std::is_floating_point_v<A>) {
      int any = 0;
      for (int k = 0; k < K; ++k) any |= nan[k];
      if (any) s = std::numeric_limits<A>::quiet_NaN();
    }
  }
};

// log(sum(exp(x))) with an online max shift: state (m, s) means s * exp(m).
template <class T>
struct LseOp {
  struct State {
    double m, s;
  };
  static State init() { return {-std::numeric_limits<double>::infinity(), 0.0}; }
  void add(State& st, acc_t<T> v) const {
    double x = static_cast<double>(v);
    if (x > st.m) {
      st.s = st.s * std::exp(st.m - x) + 1.0;
      st.m = x;
    } else if (x == x) {
      st.s += std::exp(x - st.m);
    } else {
      st.m = x;  // NaN
    }
  }
  static void merge(State& a, const State& b) {
    if (b.m != b.m || a.m != a.m) {
      a.m = a.m != a.m ? a.m : b.m;
      return;
    }
    if (b.s == 0) return;
    if (a.s == 0) {
      a = b;
      return;
    }
    if (b.m > a.m) {
      a.s = a.s * std::exp(a.m - b.m) + b.s;
      a.m = b.m;
    } else
      a.s += b.s * std::exp(b.m - a.m);
  }
  double finish(const State& st, int64_t, int64_t) const {
    if (st.m != st.m) return st.m;
    if (std::isinf(st.m)) return st.m;  // all -inf -> -inf; any +inf -> +inf
    return st.m + std::log(st.s);
  }
  // Two passes over a contiguous segment: max, then sum of exp.
  void row(const T* p, int64_t n, State& st) const {
    double m = -std::numeric_limits<double>::infinity();
    for (int64_t i = 0; i < n; ++i) {
      double x = static_cast<double>(static_cast<acc_t<T>>(p[i]));
      m = (x > m || x != x) ? x : m;
    }
    State seg{m, 0.0};
    if (m != m || std::isinf(m)) {
      seg.s = 1.0;
    } else {
      double s = 0;
      for (int64_t i = 0; i < n; ++i)
        s += std::exp(static_cast<double>(static_cast<acc_t<T>>(p[i])) - m);
      seg.s = s;
    }
    merge(st, seg);
  }
};

}  // namespace detforge::kernels::cpu_reduce

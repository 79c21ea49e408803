// The per-op, per-dtype instantiation of the elementwise families, written once and compiled for
// each backend: cpu/elementwise.cpp with kernels::cpu::map, cuda/elementwise.cu with
// kernels::cuda::map. Backend::map<OutT, InTs...>(out, {ins...}, functor).
#pragma once
#include "kernels/elementwise/binary.h"
#include "kernels/elementwise/unary.h"

namespace detforge::kernels {

template <class Backend, class F>
void run_unary(const Tensor& out, const Tensor& x, const UnaryParams& p, const char* name) {
  if constexpr (F::kIntegral) {
    DF_DISPATCH_NUMERIC(x.dtype(), name, [&] {
      Backend::template map<scalar_t, scalar_t>(out, {x}, BoundUnary<F>{F{}, p});
    });
  } else {
    DF_DISPATCH_FLOATING(x.dtype(), name, [&] {
      Backend::template map<scalar_t, scalar_t>(out, {x}, BoundUnary<F>{F{}, p});
    });
  }
}

template <class Backend>
void unary_impl(UnaryOp op, const Tensor& out, const Tensor& x, const UnaryParams& p) {
  switch (op) {
#define DF_X(name, F) \
  case UnaryOp::name: return run_unary<Backend, F>(out, x, p, #name);
    DF_UNARY_OPS(DF_X)
#undef DF_X
  }
}

template <class Backend, class F>
void run_binary(const Tensor& out, const Tensor& a, const Tensor& b, const BinaryParams& p,
                const char* name) {
  if constexpr (F::kIntegral) {
    DF_DISPATCH_NUMERIC(a.dtype(), name, [&] {
      Backend::template map<scalar_t, scalar_t, scalar_t>(out, {a, b}, BoundBinary<F>{F{}, p});
    });
  } else {
    DF_DISPATCH_FLOATING(a.dtype(), name, [&] {
      Backend::template map<scalar_t, scalar_t, scalar_t>(out, {a, b}, BoundBinary<F>{F{}, p});
    });
  }
}

template <class Backend>
void binary_impl(BinaryOp op, const Tensor& out, const Tensor& a, const Tensor& b, const BinaryParams& p) {
  switch (op) {
#define DF_X(name, F) \
  case BinaryOp::name: return run_binary<Backend, F>(out, a, b, p, #name);
    DF_BINARY_OPS(DF_X)
#undef DF_X
  }
}

template <class Backend, class T>
void compare_typed(CompareOp op, const Tensor& out, const Tensor& a, const Tensor& b) {
  switch (op) {
#define DF_X(name, sym) \
  case CompareOp::name: \
    return Backend::template map<bool, T, T>(out, {a, b}, CompareFunctor<CompareOp::name>{});
    DF_COMPARE_OPS(DF_X)
#undef DF_X
  }
}

template <class Backend>
void compare_impl(CompareOp op, const Tensor& out, const Tensor& a, const Tensor& b) {
  DF_DISPATCH_ALL(a.dtype(), "compare", [&] { compare_typed<Backend, scalar_t>(op, out, a, b); });
}

template <class Backend>
void where_impl(const Tensor& out, const Tensor& cond, const Tensor& a, const Tensor& b) {
  DF_DISPATCH_ALL(a.dtype(), "where", [&] {
    Backend::template map<scalar_t, bool, scalar_t, scalar_t>(out, {cond, a, b}, WhereFunctor{});
  });
}

}  // namespace detforge::kernels

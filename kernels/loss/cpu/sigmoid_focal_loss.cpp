// CPU sigmoid_focal_loss: one pass each way over the DETFORGE_HD element math. The gamma cases
// 2, 1 and 0 are separate instantiations (the constant folds the modulating-factor branch), so
// the float loops vectorise (exp_fast and the log1p series are branch-free). Sums: blocks of 256
// element values in float lanes, added to double; chunking depends on n only (deterministic).
#include "kernels/loss/sigmoid_focal_loss.h"
#include "kernels/loss/cpu/loss_cpu.h"
#include "tensor/dtype_cast.h"

namespace detforge::kernels {
namespace {

constexpr int64_t kGrain = 8192;
constexpr int64_t kBlock = 256;

// f(gamma) with gamma a compile-time literal where it is 2, 1 or 0.
template <class A, class F>
void with_gamma(double gamma, const F& f) {
  if (gamma == 2.0)
    f(std::integral_constant<int, 2>{});
  else if (gamma == 1.0)
    f(std::integral_constant<int, 1>{});
  else if (gamma == 0.0)
    f(std::integral_constant<int, 0>{});
  else
    f(std::integral_constant<int, -1>{});
}

template <class A, int G>
inline A gamma_value(double gamma) {
  return G >= 0 ? A(G) : static_cast<A>(gamma);
}

// The element loops, as plain functions of pointers so that G folds into the math even when
// parallel_for outlines the calling lambda (a gamma read through a capture would not fold, and
// the pow branch would then stop vectorisation).
template <class T, int G>
void value_loop(const T* x, const T* y, T* o, int64_t n, acc_t<T> alpha, double gamma_d) {
  using A = acc_t<T>;
  const A gamma = gamma_value<A, G>(gamma_d);
#pragma omp simd
  for (int64_t i = 0; i < n; ++i)
    o[i] = cast_to<T>(
        sigmoid_focal_loss_value(static_cast<A>(x[i]), static_cast<A>(y[i]), alpha, gamma));
}

template <class T, int G>
double sum_loop(const T* x, const T* y, int64_t n, acc_t<T> alpha, double gamma_d) {
  using A = acc_t<T>;
  const A gamma = gamma_value<A, G>(gamma_d);
  A buf[kBlock];
  double a = 0;
  for (int64_t i0 = 0; i0 < n; i0 += kBlock) {
    const int64_t len = std::min(kBlock, n - i0);
    const T* xb = x + i0;
    const T* yb = y + i0;
#pragma omp simd
    for (int64_t k = 0; k < len; ++k)
      buf[k] = sigmoid_focal_loss_value(static_cast<A>(xb[k]), static_cast<A>(yb[k]), alpha, gamma);
#pragma omp simd reduction(+ : a)
    for (int64_t k = 0; k < len; ++k) a += static_cast<double>(buf[k]);
  }
  return a;
}

// g: per-element grad_out (full) or null with the scalar g0.
template <class T, int G, bool GX, bool GY, bool FULL>
void grad_loop(const T* x, const T* y, const T* g, acc_t<T> g0, T* gx, T* gy, int64_t n,
               acc_t<T> alpha, double gamma_d) {
  using A = acc_t<T>;
  const A gamma = gamma_value<A, G>(gamma_d);
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) {
    A dx, dy;
    sigmoid_focal_loss_grad(static_cast<A>(x[i]), static_cast<A>(y[i]), alpha, gamma, dx, dy);
    A gi;
    if constexpr (FULL)
      gi = static_cast<A>(g[i]);
    else
      gi = g0;
    if constexpr (GX) gx[i] = cast_to<T>(gi * dx);
    if constexpr (GY) gy[i] = cast_to<T>(gi * dy);
  }
}

template <class T, int G>
void forward_typed(const SigmoidFocalLossParams& p, const Tensor& out, const Tensor& xt,
                   const Tensor& yt) {
  using A = acc_t<T>;
  const int64_t n = xt.numel();
  const T* x = static_cast<const T*>(xt.data_ptr());
  const T* y = static_cast<const T*>(yt.data_ptr());
  T* o = static_cast<T*>(out.data_ptr());
  const A alpha = static_cast<A>(p.alpha);
  const double gamma = p.gamma;
  if (p.reduction == LossReduction::none) {
    parallel_for(0, n, kGrain, [=](int64_t b, int64_t e) {
      value_loop<T, G>(x + b, y + b, o + b, e - b, alpha, gamma);
    });
    return;
  }
  auto s = cpu::chunked_sum<1>(n, kGrain, [=](int64_t b, int64_t e, double* acc) {
    acc[0] += sum_loop<T, G>(x + b, y + b, e - b, alpha, gamma);
  });
  // mean of an empty tensor: 0 / 0 = NaN, as PyTorch.
  double v = p.reduction == LossReduction::mean ? s[0] / static_cast<double>(n) : s[0];
  o[0] = cast_to<T>(v);
}

template <class T, int G, bool GX, bool GY>
void backward_loop(const SigmoidFocalLossParams& p, T* gx, T* gy, const T* g, const T* x,
                   const T* y, int64_t n) {
  using A = acc_t<T>;
  const A alpha = static_cast<A>(p.alpha);
  const double gamma = p.gamma;
  const bool full = p.reduction == LossReduction::none;
  A g0 = full ? A(0) : static_cast<A>(g[0]);
  if (p.reduction == LossReduction::mean) g0 = g0 / static_cast<A>(n);
  parallel_for(0, n, kGrain, [=](int64_t b, int64_t e) {
    T* gxb = GX ? gx + b : nullptr;
    T* gyb = GY ? gy + b : nullptr;
    if (full)
      grad_loop<T, G, GX, GY, true>(x + b, y + b, g + b, g0, gxb, gyb, e - b, alpha, gamma);
    else
      grad_loop<T, G, GX, GY, false>(x + b, y + b, nullptr, g0, gxb, gyb, e - b, alpha, gamma);
  });
}

template <class T, int G>
void backward_typed(const SigmoidFocalLossParams& p, const Tensor& gxt, const Tensor& gyt,
                    const Tensor& got, const Tensor& xt, const Tensor& yt) {
  const int64_t n = xt.numel();
  if (n == 0) return;
  const T* x = static_cast<const T*>(xt.data_ptr());
  const T* y = static_cast<const T*>(yt.data_ptr());
  const T* g = static_cast<const T*>(got.data_ptr());
  T* gx = gxt.defined() ? static_cast<T*>(gxt.data_ptr()) : nullptr;
  T* gy = gyt.defined() ? static_cast<T*>(gyt.data_ptr()) : nullptr;
  if (gx && gy)
    backward_loop<T, G, true, true>(p, gx, gy, g, x, y, n);
  else if (gx)
    backward_loop<T, G, true, false>(p, gx, gy, g, x, y, n);
  else if (gy)
    backward_loop<T, G, false, true>(p, gx, gy, g, x, y, n);
}

void forward_cpu(const SigmoidFocalLossParams& p, const Tensor& out, const Tensor& x,
                 const Tensor& y) {
  DF_DISPATCH_FLOATING(x.dtype(), "sigmoid_focal_loss", [&] {
    with_gamma<scalar_t>(
        p.gamma, [&](auto gk) { forward_typed<scalar_t, decltype(gk)::value>(p, out, x, y); });
  });
}

void backward_cpu(const SigmoidFocalLossParams& p, const Tensor& gx, const Tensor& gy,
                  const Tensor& go, const Tensor& x, const Tensor& y) {
  DF_DISPATCH_FLOATING(x.dtype(), "sigmoid_focal_loss_backward", [&] {
    with_gamma<scalar_t>(p.gamma, [&](auto gk) {
      backward_typed<scalar_t, decltype(gk)::value>(p, gx, gy, go, x, y);
    });
  });
}

}  // namespace
DF_REGISTER_DISPATCH(sigmoid_focal_loss_forward_stub, CPU, &forward_cpu);
DF_REGISTER_DISPATCH(sigmoid_focal_loss_backward_stub, CPU, &backward_cpu);
}  // namespace detforge::kernels

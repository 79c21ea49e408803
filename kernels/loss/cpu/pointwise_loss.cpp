// CPU kernels of the elementwise losses: loops over the DETFORGE_HD element functors.
#include "kernels/loss/cpu/loss_cpu.h"
#include "kernels/loss/pointwise_loss_ops.h"
#include "tensor/dtype_cast.h"

namespace detforge::kernels {
namespace {

constexpr int64_t kGrain = 16384;

template <class T>
const T* ptr_or_null(const Tensor& t) {
  return t.defined() ? static_cast<const T*>(t.data_ptr()) : nullptr;
}

template <class T, class Op>
void forward_typed(const PointwiseLossParams& p, const Tensor& out, const Tensor& xt,
                   const Tensor& yt, const Tensor& wt, const Tensor& pwt) {
  using A = acc_t<T>;
  const int64_t n = xt.numel();
  const T* x = ptr_or_null<T>(xt);
  const T* y = ptr_or_null<T>(yt);
  const T* w = ptr_or_null<T>(wt);
  const T* pw = ptr_or_null<T>(pwt);
  T* o = static_cast<T*>(out.data_ptr());
  const Op op{};
  auto elem = [&](int64_t i) {
    return op.forward(static_cast<A>(x[i]), static_cast<A>(y[i]), w ? static_cast<A>(w[i]) : A(1),
                      pw ? static_cast<A>(pw[i]) : A(1), p);
  };
  if (p.reduction == LossReduction::none) {
    parallel_for(0, n, kGrain, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i) o[i] = cast_to<T>(elem(i));
    });
    return;
  }
  auto s = cpu::chunked_sum<1>(n, kGrain, [&](int64_t b, int64_t e, double* acc) {
    double a = 0;
    for (int64_t i = b; i < e; ++i) a += static_cast<double>(elem(i));
    acc[0] += a;
  });
  double v = p.reduction == LossReduction::mean ? s[0] / static_cast<double>(n) : s[0];
  o[0] = cast_to<T>(v);
}

template <class T, class Op>
void backward_typed(const PointwiseLossParams& p, const Tensor& gxt, const Tensor& gyt,
                    const Tensor& got, const Tensor& xt, const Tensor& yt, const Tensor& wt,
                    const Tensor& pwt) {
  using A = acc_t<T>;
  const int64_t n = xt.numel();
  const T* x = ptr_or_null<T>(xt);
  const T* y = ptr_or_null<T>(yt);
  const T* w = ptr_or_null<T>(wt);
  const T* pw = ptr_or_null<T>(pwt);
  const T* g = ptr_or_null<T>(got);
  T* gx = gxt.defined() ? static_cast<T*>(gxt.data_ptr()) : nullptr;
  T* gy = gyt.defined() ? static_cast<T*>(gyt.data_ptr()) : nullptr;
  const bool full = p.reduction == LossReduction::none;
  A g0 = full ? A(0) : static_cast<A>(g[0]);
  if (p.reduction == LossReduction::mean) g0 = g0 / static_cast<A>(n);
  const Op op{};
  parallel_for(0, n, kGrain, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) {
      A dx, dy;
      op.backward(static_cast<A>(x[i]), static_cast<A>(y[i]), w ? static_cast<A>(w[i]) : A(1),
                  pw ? static_cast<A>(pw[i]) : A(1), p, dx, dy);
      A gi = full ? static_cast<A>(g[i]) : g0;
      if (gx) gx[i] = cast_to<T>(gi * dx);
      if (gy) gy[i] = cast_to<T>(gi * dy);
    }
  });
}

void forward_cpu(const PointwiseLossParams& p, const Tensor& out, const Tensor& x, const Tensor& y,
                 const Tensor& w, const Tensor& pw) {
  DF_DISPATCH_FLOATING(x.dtype(), "pointwise_loss", [&] {
    visit_pointwise_loss(
        p.kind, [&](auto op) { forward_typed<scalar_t, decltype(op)>(p, out, x, y, w, pw); });
  });
}

void backward_cpu(const PointwiseLossParams& p, const Tensor& gx, const Tensor& gy,
                  const Tensor& go, const Tensor& x, const Tensor& y, const Tensor& w,
                  const Tensor& pw) {
  DF_DISPATCH_FLOATING(x.dtype(), "pointwise_loss_backward", [&] {
    visit_pointwise_loss(p.kind, [&](auto op) {
      backward_typed<scalar_t, decltype(op)>(p, gx, gy, go, x, y, w, pw);
    });
  });
}

}  // namespace
DF_REGISTER_DISPATCH(pointwise_loss_forward_stub, CPU, &forward_cpu);
DF_REGISTER_DISPATCH(pointwise_loss_backward_stub, CPU, &backward_cpu);
}  // namespace detforge::kernels

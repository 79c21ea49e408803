// CPU kernels of the paired box losses: one fused element pass each way over box_pair<K, true>.
#include "kernels/detection/box_iou_loss.h"
#include "kernels/loss/cpu/loss_cpu.h"
#include "tensor/parallel.h"

namespace detforge::kernels {
namespace {

constexpr int64_t kGrain = 4096;

template <BoxIouKind K, class A>
void forward_typed(const BoxIouLossParams& p, const Tensor& out, const Tensor& b1,
                   const Tensor& b2) {
  const int64_t n = b1.numel() / 4;
  const A* a = static_cast<const A*>(b1.data_ptr());
  const A* b = static_cast<const A*>(b2.data_ptr());
  A* o = static_cast<A*>(out.data_ptr());
  const A eps = static_cast<A>(p.eps), eps_d = static_cast<A>(p.eps_d());
  auto elem = [&](int64_t i) {
    const A *x = a + i * 4, *y = b + i * 4;
    return box_pair<K, true, false, A>(x[0], x[1], x[2], x[3], y[0], y[1], y[2], y[3], eps, eps_d,
                                       A(0), nullptr, nullptr);
  };
  if (p.reduction == LossReduction::none) {
    parallel_for(0, n, kGrain, [&](int64_t lo, int64_t hi) {
      for (int64_t i = lo; i < hi; ++i) o[i] = elem(i);
    });
    return;
  }
  auto s = cpu::chunked_sum<1>(n, kGrain, [&](int64_t lo, int64_t hi, double* acc) {
    double v = 0;
    for (int64_t i = lo; i < hi; ++i) v += static_cast<double>(elem(i));
    acc[0] += v;
  });
  // mean of no boxes is 0 (torchvision: 0.0 * loss.sum())
  o[0] = static_cast<A>(p.reduction == LossReduction::mean && n > 0 ? s[0] / static_cast<double>(n)
                                                                    : s[0]);
}

template <BoxIouKind K, class A>
void backward_typed(const BoxIouLossParams& p, const Tensor& g1, const Tensor& g2, const Tensor& go,
                    const Tensor& b1, const Tensor& b2) {
  const int64_t n = b1.numel() / 4;
  const A* a = static_cast<const A*>(b1.data_ptr());
  const A* b = static_cast<const A*>(b2.data_ptr());
  const A* g = static_cast<const A*>(go.data_ptr());
  A* o1 = g1.defined() ? static_cast<A*>(g1.data_ptr()) : nullptr;
  A* o2 = g2.defined() ? static_cast<A*>(g2.data_ptr()) : nullptr;
  const bool full = p.reduction == LossReduction::none;
  A g0 = full ? A(0) : g[0];
  if (p.reduction == LossReduction::mean && n > 0) g0 /= static_cast<A>(n);
  const A eps = static_cast<A>(p.eps), eps_d = static_cast<A>(p.eps_d());
  parallel_for(0, n, kGrain, [&](int64_t lo, int64_t hi) {
    for (int64_t i = lo; i < hi; ++i) {
      const A *x = a + i * 4, *y = b + i * 4;
      A ga[4], gb[4];
      box_pair<K, true, true, A>(x[0], x[1], x[2], x[3], y[0], y[1], y[2], y[3], eps, eps_d,
                                 full ? g[i] : g0, ga, gb);
      for (int k = 0; k < 4; ++k) {
        if (o1) o1[i * 4 + k] = ga[k];
        if (o2) o2[i * 4 + k] = gb[k];
      }
    }
  });
}

template <class F>
void dispatch_f32_f64(DType dt, const char* op, const F& f) {
  if (dt == DType::f32) return f(float{});
  if (dt == DType::f64) return f(double{});
  throw DTypeError(str_cat("[", op, "] dtype ", dtype_name(dt), " is not supported (f32, f64)"));
}

void forward_cpu(const BoxIouLossParams& p, const Tensor& out, const Tensor& b1, const Tensor& b2) {
  dispatch_f32_f64(b1.dtype(), "box_iou_loss", [&](auto z) {
    visit_box_iou_kind(
        p.kind, [&](auto k) { forward_typed<decltype(k)::value, decltype(z)>(p, out, b1, b2); });
  });
}

void backward_cpu(const BoxIouLossParams& p, const Tensor& g1, const Tensor& g2, const Tensor& go,
                  const Tensor& b1, const Tensor& b2) {
  dispatch_f32_f64(b1.dtype(), "box_iou_loss_backward", [&](auto z) {
    visit_box_iou_kind(p.kind, [&](auto k) {
      backward_typed<decltype(k)::value, decltype(z)>(p, g1, g2, go, b1, b2);
    });
  });
}

}  // namespace
DF_REGISTER_DISPATCH(box_iou_loss_forward_stub, CPU, &forward_cpu);
DF_REGISTER_DISPATCH(box_iou_loss_backward_stub, CPU, &backward_cpu);
}  // namespace detforge::kernels

// CPU cross_entropy: one pass per row over the shared DETFORGE_HD row functions; rows of one
// sample are visited in spatial order so neighbouring rows share cache lines.
#include "kernels/loss/cross_entropy.h"
#include "kernels/loss/cpu/loss_cpu.h"
#include "tensor/dtype_cast.h"

namespace detforge::kernels {
namespace {

// Grain in rows: about kDefaultGrain elements per chunk.
int64_t row_grain(int64_t C) {
  return std::max<int64_t>(1, 16384 / std::max<int64_t>(C, 1));
}

void check_targets(const CrossEntropyParams& p, const Tensor& target) {
  if (p.prob_target) return;
  const int64_t* t = static_cast<const int64_t*>(target.data_ptr());
  int64_t rows = target.numel();
  for (int64_t r = 0; r < rows; ++r) {
    DF_CHECK(t[r] == p.ignore_index || (t[r] >= 0 && t[r] < p.C), Error, "[cross_entropy] target ",
             t[r], " at flat position ", r, " is out of bounds for ", p.C, " classes");
  }
}

template <class T>
void forward_typed(const CrossEntropyParams& p, const Tensor& out, const Tensor& total_weight,
                   const Tensor& lse_t, const Tensor& in, const Tensor& tg, const Tensor& wt) {
  using A = acc_t<T>;  // the dtype of total_weight and lse (loss_acc_dtype)
  A* lse = static_cast<A*>(lse_t.data_ptr());
  const int64_t C = p.C, S = p.S, rows = p.N * p.S;
  const T* x = static_cast<const T*>(in.data_ptr());
  const T* w = wt.defined() ? static_cast<const T*>(wt.data_ptr()) : nullptr;
  const int64_t* ti = p.prob_target ? nullptr : static_cast<const int64_t*>(tg.data_ptr());
  const T* tp = p.prob_target ? static_cast<const T*>(tg.data_ptr()) : nullptr;
  const A ls = static_cast<A>(p.label_smoothing);
  auto row = [&](int64_t r) {
    int64_t n = r / S, s = r - n * S;
    int64_t base = n * C * S + s;
    return p.prob_target
               ? ce_prob_row_forward<A>(x + base, tp + base, S, C, w, ls, lse + r)
               : ce_index_row_forward<A>(x + base, S, C, ti[r], w, ls, p.ignore_index, lse + r);
  };
  auto s = cpu::chunked_sum<2>(rows, row_grain(C), [&](int64_t b, int64_t e, double* acc) {
    T* o = p.reduction == LossReduction::none ? static_cast<T*>(out.data_ptr()) : nullptr;
    for (int64_t r = b; r < e; ++r) {
      CeRowResult<A> rr = row(r);
      if (o) o[r] = cast_to<T>(rr.loss);
      acc[0] += static_cast<double>(rr.loss);
      acc[1] += static_cast<double>(rr.weight);
    }
  });
  *static_cast<A*>(total_weight.data_ptr()) = static_cast<A>(s[1]);
  if (p.reduction == LossReduction::none) return;
  double v = p.reduction == LossReduction::sum ? s[0] : s[0] / s[1];
  static_cast<T*>(out.data_ptr())[0] = cast_to<T>(v);
}

template <class T>
void backward_typed(const CrossEntropyParams& p, const Tensor& gin, const Tensor& gtg,
                    const Tensor& gout, const Tensor& total_weight, const Tensor& lse_t,
                    const Tensor& in, const Tensor& tg, const Tensor& wt) {
  using A = acc_t<T>;
  const A* lse = static_cast<const A*>(lse_t.data_ptr());
  const int64_t C = p.C, S = p.S, rows = p.N * p.S;
  const T* x = static_cast<const T*>(in.data_ptr());
  const T* w = wt.defined() ? static_cast<const T*>(wt.data_ptr()) : nullptr;
  const T* g = static_cast<const T*>(gout.data_ptr());
  const A* tw = static_cast<const A*>(total_weight.data_ptr());
  T* gx = static_cast<T*>(gin.data_ptr());
  T* gp = gtg.defined() ? static_cast<T*>(gtg.data_ptr()) : nullptr;
  const A ls = static_cast<A>(p.label_smoothing);
  parallel_for(0, rows, row_grain(C), [&](int64_t b, int64_t e) {
    for (int64_t r = b; r < e; ++r) {
      int64_t n = r / S, s = r - n * S;
      int64_t base = n * C * S + s;
      A scale = ce_grad_scale<A>(p.reduction, g, tw, r);
      if (p.prob_target) {
        const T* tp = static_cast<const T*>(tg.data_ptr());
        ce_prob_row_backward<A>(x + base, tp + base, S, C, w, ls, lse[r], scale, gx + base,
                                gp ? gp + base : nullptr);
      } else {
        const int64_t* ti = static_cast<const int64_t*>(tg.data_ptr());
        ce_index_row_backward<A>(x + base, S, C, ti[r], w, ls, p.ignore_index, lse[r], scale,
                                 gx + base);
      }
    }
  });
}

void forward_cpu(const CrossEntropyParams& p, const Tensor& out, const Tensor& total_weight,
                 const Tensor& lse, const Tensor& in, const Tensor& tg, const Tensor& w) {
  check_targets(p, tg);
  DF_DISPATCH_FLOATING(in.dtype(), "cross_entropy",
                       [&] { forward_typed<scalar_t>(p, out, total_weight, lse, in, tg, w); });
}

void backward_cpu(const CrossEntropyParams& p, const Tensor& gin, const Tensor& gtg,
                  const Tensor& gout, const Tensor& total_weight, const Tensor& lse,
                  const Tensor& in, const Tensor& tg, const Tensor& w) {
  DF_DISPATCH_FLOATING(in.dtype(), "cross_entropy_backward", [&] {
    backward_typed<scalar_t>(p, gin, gtg, gout, total_weight, lse, in, tg, w);
  });
}

}  // namespace
DF_REGISTER_DISPATCH(cross_entropy_forward_stub, CPU, &forward_cpu);
DF_REGISTER_DISPATCH(cross_entropy_backward_stub, CPU, &backward_cpu);
}  // namespace detforge::kernels

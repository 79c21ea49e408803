// cross_entropy (log_softmax + nll_loss + label smoothing, PyTorch 1.13 semantics) as one pass per
// row. The input is [N, C, S] (S = product of the spatial dims, 1 for [N, C]); row r = (n, s)
// holds the C logits x[n, :, s] at stride S. Targets are class indices [N * S] (int64) or class
// probabilities of the input's shape.
//
// Per row, with smoothed target weights q_c:
//   index target t:  q_c = w_c ls / C + [c == t] (1 - ls) w_t      (q = 0 for t == ignore_index)
//   prob target p:   q_c = w_c (p_c (1 - ls) + ls / C)
//   loss = sum_c q_c (lse - x_c),   d loss / d x_c = softmax_c sum_c' q_c' - q_c
//   d loss / d p_c = -(1 - ls) w_c (x_c - lse)
// The mean normaliser is sum over rows of w_t (index targets, ignored rows excluded) or the row
// count (prob targets); each row reports its part of it.
#pragma once
#include "kernels/dispatch.h"
#include "kernels/loss/loss_common.h"
#include "kernels/math.h"
#include "tensor/tensor.h"

namespace detforge::kernels {

struct CrossEntropyParams {
  int64_t N = 0, C = 0, S = 1;
  int64_t ignore_index = -100;
  double label_smoothing = 0;
  LossReduction reduction = LossReduction::mean;
  bool prob_target = false;
};

template <class A>
struct CeRowResult {
  A loss;    // unnormalised row loss
  A weight;  // the row's part of the mean normaliser
};

// log(sum_c exp(x_c)) of one row, max-shifted.
template <class A, class T>
DETFORGE_HD inline A ce_row_logsumexp(const T* x, int64_t stride, int64_t C) {
  A m = static_cast<A>(x[0]);
  for (int64_t c = 1; c < C; ++c) m = dmath::max(m, static_cast<A>(x[c * stride]));
  A s = A(0);
  for (int64_t c = 0; c < C; ++c) s += dmath::exp(static_cast<A>(x[c * stride]) - m);
  return m + dmath::log(s);
}

// Row loss for a class-index target. w may be null (all ones). A target outside [0, C) that is
// not ignore_index gives NaN (the CPU path rejects it beforehand with an error).
template <class A, class T>
DETFORGE_HD inline CeRowResult<A> ce_index_row_forward(const T* x, int64_t stride, int64_t C,
                                                       int64_t t, const T* w, A ls,
                                                       int64_t ignore_index, A* lse_out) {
  *lse_out = A(0);
  if (t == ignore_index) return {A(0), A(0)};
  if (t < 0 || t >= C) {
    A nan = A(0) / A(0);
    return {nan, A(0)};
  }
  A lse = ce_row_logsumexp<A>(x, stride, C);
  *lse_out = lse;
  A wt = w ? static_cast<A>(w[t]) : A(1);
  A loss = (A(1) - ls) * wt * (lse - static_cast<A>(x[t * stride]));
  if (ls > A(0)) {
    A sm = A(0);
    for (int64_t c = 0; c < C; ++c) {
      A wc = w ? static_cast<A>(w[c]) : A(1);
      sm += wc * (lse - static_cast<A>(x[c * stride]));
    }
    loss += ls / static_cast<A>(C) * sm;
  }
  return {loss, wt};
}

// Row loss for a probability target p (same stride as x).
template <class A, class T>
DETFORGE_HD inline CeRowResult<A> ce_prob_row_forward(const T* x, const T* p, int64_t stride,
                                                      int64_t C, const T* w, A ls, A* lse_out) {
  A lse = ce_row_logsumexp<A>(x, stride, C);
  *lse_out = lse;
  A base = ls / static_cast<A>(C), keep = A(1) - ls;
  A loss = A(0);
  for (int64_t c = 0; c < C; ++c) {
    A wc = w ? static_cast<A>(w[c]) : A(1);
    A q = wc * (static_cast<A>(p[c * stride]) * keep + base);
    loss += q * (lse - static_cast<A>(x[c * stride]));
  }
  return {loss, A(1)};
}

// Gradient of one index-target row, scaled by `scale` (grad_output / normaliser); lse is the
// row's log-sum-exp saved by the forward.
template <class A, class T>
DETFORGE_HD inline void ce_index_row_backward(const T* x, int64_t stride, int64_t C, int64_t t,
                                              const T* w, A ls, int64_t ignore_index, A lse,
                                              A scale, T* gx) {
  if (t == ignore_index || t < 0 || t >= C) {
    A v = (t == ignore_index) ? A(0) : A(0) / A(0);
    for (int64_t c = 0; c < C; ++c) gx[c * stride] = static_cast<T>(v);
    return;
  }
  A base = ls / static_cast<A>(C);
  A wt = w ? static_cast<A>(w[t]) : A(1);
  A wsum = static_cast<A>(C);
  if (w && ls > A(0)) {
    wsum = A(0);
    for (int64_t c = 0; c < C; ++c) wsum += static_cast<A>(w[c]);
  }
  A Q = (A(1) - ls) * wt + base * wsum;
  for (int64_t c = 0; c < C; ++c) {
    A wc = w ? static_cast<A>(w[c]) : A(1);
    A q = base * wc + (c == t ? (A(1) - ls) * wt : A(0));
    A sm = dmath::exp(static_cast<A>(x[c * stride]) - lse);
    gx[c * stride] = static_cast<T>(scale * (sm * Q - q));
  }
}

// Gradient of one probability-target row w.r.t. x (gx) and, when gp is not null, p.
template <class A, class T>
DETFORGE_HD inline void ce_prob_row_backward(const T* x, const T* p, int64_t stride, int64_t C,
                                             const T* w, A ls, A lse, A scale, T* gx, T* gp) {
  A base = ls / static_cast<A>(C), keep = A(1) - ls;
  A Q = A(0);
  for (int64_t c = 0; c < C; ++c) {
    A wc = w ? static_cast<A>(w[c]) : A(1);
    Q += wc * (static_cast<A>(p[c * stride]) * keep + base);
  }
  for (int64_t c = 0; c < C; ++c) {
    A wc = w ? static_cast<A>(w[c]) : A(1);
    A xc = static_cast<A>(x[c * stride]);
    A q = wc * (static_cast<A>(p[c * stride]) * keep + base);
    gx[c * stride] = static_cast<T>(scale * (dmath::exp(xc - lse) * Q - q));
    if (gp) gp[c * stride] = static_cast<T>(-scale * keep * wc * (xc - lse));
  }
}

// Per-row gradient scale: grad_out[row] for reduction none, grad_out[0] for sum, and
// grad_out[0] / total_weight for mean.
template <class A, class T, class W>
DETFORGE_HD inline A ce_grad_scale(LossReduction r, const T* grad_out, const W* total_weight,
                                   int64_t row) {
  if (r == LossReduction::none) return static_cast<A>(grad_out[row]);
  A g = static_cast<A>(grad_out[0]);
  return r == LossReduction::sum ? g : g / static_cast<A>(total_weight[0]);
}

// out: [N * S] (input dtype) for reduction none, else 0-dim. total_weight: 0-dim of
// loss_acc_dtype(input dtype), always written (the normaliser the backward divides by).
// lse: [N * S] of loss_acc_dtype, the per-row log-sum-exp the backward reuses.
// input contiguous [N, C, S]; target int64 [N * S] or (prob) the input's dtype and shape;
// weight [C] of the input's dtype or undefined.
using CrossEntropyForwardFn = void (*)(const CrossEntropyParams& p, const Tensor& out,
                                       const Tensor& total_weight, const Tensor& lse,
                                       const Tensor& input, const Tensor& target,
                                       const Tensor& weight);
// grad_input: contiguous like input; grad_target: like target or undefined (prob targets only).
// grad_out: contiguous [N * S] for reduction none, else 0-dim.
using CrossEntropyBackwardFn = void (*)(const CrossEntropyParams& p, const Tensor& grad_input,
                                        const Tensor& grad_target, const Tensor& grad_out,
                                        const Tensor& total_weight, const Tensor& lse,
                                        const Tensor& input, const Tensor& target,
                                        const Tensor& weight);
DF_DECLARE_DISPATCH(CrossEntropyForwardFn, cross_entropy_forward_stub);
DF_DECLARE_DISPATCH(CrossEntropyBackwardFn, cross_entropy_backward_stub);

}  // namespace detforge::kernels

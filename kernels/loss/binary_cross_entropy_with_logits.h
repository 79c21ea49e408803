// binary_cross_entropy_with_logits element math, in the overflow-free form
//   loss = w ((1 - y) x + (1 + (pw - 1) y) softplus(-x)),  softplus(-x) = max(-x, 0) +
//   log1p(exp(-|x|)) d/dx = w ((pw y + 1 - y) sigmoid(x) - pw y) d/dy = w (log_sigmoid(-x) - pw
//   log_sigmoid(x)) = w ((pw - 1) softplus(-x) - x)
// w = weight and pw = pos_weight (1 when absent).
#pragma once
#include "kernels/loss/pointwise_loss.h"

namespace detforge::kernels {

template <class A>
DETFORGE_HD inline A softplus_neg(A x) {  // log(1 + exp(-x)), stable for any x
  A ax = x < A(0) ? -x : x;
  A m = x < A(0) ? -x : A(0);
  return m + dmath::log1p(dmath::exp(-ax));
}

struct BceWithLogitsOp {
  template <class A>
  DETFORGE_HD A forward(A x, A y, A w, A pw, const PointwiseLossParams&) const {
    A lw = A(1) + (pw - A(1)) * y;
    return w * ((A(1) - y) * x + lw * softplus_neg(x));
  }
  template <class A>
  DETFORGE_HD void backward(A x, A y, A w, A pw, const PointwiseLossParams&, A& dx, A& dy) const {
    A s = A(1) / (A(1) + dmath::exp(-x));
    A py = pw * y;
    dx = w * ((py + A(1) - y) * s - py);
    dy = w * ((pw - A(1)) * softplus_neg(x) - x);
  }
};

}  // namespace detforge::kernels

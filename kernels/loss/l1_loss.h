// l1_loss element math: |x - y|; d/dx = sign(x - y) (0 at x == y, as PyTorch), d/dy = -d/dx.
#pragma once
#include "kernels/loss/pointwise_loss.h"

namespace detforge::kernels {

struct L1LossOp {
  template <class A>
  DETFORGE_HD A forward(A x, A y, A, A, const PointwiseLossParams&) const {
    A d = x - y;
    return d < A(0) ? -d : d;
  }
  template <class A>
  DETFORGE_HD void backward(A x, A y, A, A, const PointwiseLossParams&, A& dx, A& dy) const {
    A d = x - y;
    dx = d > A(0) ? A(1) : (d < A(0) ? A(-1) : A(0));
    dy = -dx;
  }
};

}  // namespace detforge::kernels

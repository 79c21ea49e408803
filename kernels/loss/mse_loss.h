// mse_loss element math: (x - y)^2; d/dx = 2 (x - y), d/dy = -d/dx.
#pragma once
#include "kernels/loss/pointwise_loss.h"

namespace detforge::kernels {

struct MseLossOp {
  template <class A>
  DETFORGE_HD A forward(A x, A y, A, A, const PointwiseLossParams&) const {
    A d = x - y;
    return d * d;
  }
  template <class A>
  DETFORGE_HD void backward(A x, A y, A, A, const PointwiseLossParams&, A& dx, A& dy) const {
    dx = A(2) * (x - y);
    dy = -dx;
  }
};

}  // namespace detforge::kernels

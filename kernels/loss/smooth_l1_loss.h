// smooth_l1_loss element math (PyTorch 1.13): z = |x - y|; 0.5 z^2 / beta where z < beta, else
// z - 0.5 beta. beta == 0 is l1_loss (the autograd layer maps it to L1LossOp).
#pragma once
#include "kernels/loss/pointwise_loss.h"

namespace detforge::kernels {

struct SmoothL1LossOp {
  template <class A>
  DETFORGE_HD A forward(A x, A y, A, A, const PointwiseLossParams& p) const {
    A beta = static_cast<A>(p.beta);
    A d = x - y;
    A z = d < A(0) ? -d : d;
    return z < beta ? A(0.5) * z * z / beta : z - A(0.5) * beta;
  }
  template <class A>
  DETFORGE_HD void backward(A x, A y, A, A, const PointwiseLossParams& p, A& dx, A& dy) const {
    A beta = static_cast<A>(p.beta);
    A d = x - y;
    dx = d < -beta ? A(-1) : (d > beta ? A(1) : d / beta);
    dy = -dx;
  }
};

}  // namespace detforge::kernels

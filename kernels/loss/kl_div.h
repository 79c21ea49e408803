// kl_div element math (PyTorch 1.13's composite): x is a log-probability, y the target.
//   log_target = false: xlogy(y, y) - y x;   d/dx = -y;        d/dy = xlogy(y != 0, y) + y / y - x
//   log_target = true:  exp(y) (y - x);      d/dx = -exp(y);   d/dy = exp(y) (y - x + 1)
// The y / y term reproduces PyTorch's NaN target gradient at y == 0 (xlogy's autograd formula).
#pragma once
#include "kernels/loss/pointwise_loss.h"

namespace detforge::kernels {

struct KlDivOp {
  template <class A>
  DETFORGE_HD A forward(A x, A y, A, A, const PointwiseLossParams& p) const {
    if (p.log_target) return dmath::exp(y) * (y - x);
    A ylogy = y == A(0) ? A(0) : y * dmath::log(y);
    if (dmath::isnan(y)) ylogy = y;
    return ylogy - y * x;
  }
  template <class A>
  DETFORGE_HD void backward(A x, A y, A, A, const PointwiseLossParams& p, A& dx, A& dy) const {
    if (p.log_target) {
      A e = dmath::exp(y);
      dx = -e;
      dy = e * (y - x + A(1));
    } else {
      dx = -y;
      dy = (y != A(0) ? dmath::log(y) : A(0)) + y / y - x;
    }
  }
};

}  // namespace detforge::kernels

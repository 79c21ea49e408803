// Maps a PointwiseLoss to its element functor (shared by the CPU and CUDA instantiations).
#pragma once
#include "kernels/loss/binary_cross_entropy_with_logits.h"
#include "kernels/loss/kl_div.h"
#include "kernels/loss/l1_loss.h"
#include "kernels/loss/mse_loss.h"
#include "kernels/loss/smooth_l1_loss.h"

namespace detforge::kernels {

// f(op) with the functor of `kind`.
template <class F>
void visit_pointwise_loss(PointwiseLoss kind, const F& f) {
  switch (kind) {
    case PointwiseLoss::l1:
      return f(L1LossOp{});
    case PointwiseLoss::mse:
      return f(MseLossOp{});
    case PointwiseLoss::smooth_l1:
      return f(SmoothL1LossOp{});
    case PointwiseLoss::kl_div:
      return f(KlDivOp{});
    case PointwiseLoss::bce_with_logits:
      return f(BceWithLogitsOp{});
  }
}

}  // namespace detforge::kernels

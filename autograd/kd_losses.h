// Knowledge-distillation losses (issue 5; DetKDS 3.1 / appendix D, JointDetNAS 3.2, DONNA
// 3.2.1), each one fused kernel forward and one backward (kernels/kd/). All return a 0-dim tensor.
// Gradients flow to the student input only: the teacher / target input is a fixed target and gets
// no gradient (it is read detached; a teacher that requires grad is not an error, it is just not
// differentiated). The backward passes are not themselves differentiable.
#pragma once
#include "tensor/tensor.h"

namespace detforge {

// mean_n -sum_c softmax(t_n / T)_c log_softmax(s_n / T)_c over [N, C] logits. No T^2 factor:
// Hinton's T^2 is the caller's weight.
DETFORGE_API Tensor kd_soft_ce(const Tensor& student_logits, const Tensor& teacher_logits,
                               double temperature = 1.0);

// DetKDS's Pearson distance: mean_n (1 - r_n), r_n the Pearson correlation of sample n flattened
// ([N, ...]); eps is added to each variance (a constant sample gives r = 0).
DETFORGE_API Tensor kd_pearson(const Tensor& student, const Tensor& teacher, double eps = 1e-8);

// DONNA's noise-to-signal ratio over [N, C, *]: mean_c mean((t - s)^2) / (var(t) + eps), the
// mean and the biased variance per channel over N and the trailing dims.
DETFORGE_API Tensor kd_bkd_nsr(const Tensor& student, const Tensor& target, double eps = 1e-8);

// DetKDS's fgbg feature distance with L2: alpha_fg sum(m (s-t)^2) / max(1, C sum m) +
// alpha_bg sum((1-m) (s-t)^2) / max(1, C sum(1-m)); s, t [N, C, *], mask [N, 1, *] in {0, 1}.
// Gradient to the student only (not the teacher, not the mask).
DETFORGE_API Tensor kd_masked_mse(const Tensor& student, const Tensor& teacher, const Tensor& mask,
                                  double alpha_fg = 1.0, double alpha_bg = 1.0);

}  // namespace detforge

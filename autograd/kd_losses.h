// Knowledge-distillation losses (issue 5; DetKDS 3.1 / appendix D, JointDetNAS 3.2, DONNA
// 3.2.1), each one fused kernel forward and one backward (kernels/kd/). All return a 0-dim tensor.
// Gradients flow to the student input only: the teacher / target input is a fixed target and gets
// no gradient (it is read detached; a teacher that requires grad is not an error, it is just not
// differentiated). The backward passes are not themselves differentiable.
#pragma once
#include <string>

#include "tensor/tensor.h"

namespace detforge {

// mean_n -sum_c softmax(t_n / T)_c log_softmax(s_n / T)_c over [N, C] logits. No T^2 factor:
// Hinton's T^2 is the caller's weight.
DETFORGE_API Tensor kd_soft_ce(const Tensor& student_logits, const Tensor& teacher_logits,
                               double temperature = 1.0);

// DetKDS's Pearson distance: mean_n (1 - r_n), r_n the Pearson correlation of sample n flattened
// ([N, ...]); eps is added to each variance (a constant sample gives r = 0).
DETFORGE_API Tensor kd_pearson(const Tensor& student, const Tensor& teacher, double eps = 1e-8);

// DetKDS's SSIM distance over [N, C, H, W] with global statistics per (n, c) map (one window
// covering the map, biased (co)variances), as kd::ssim_distance: 1 - mean over maps of
// (2 mu_s mu_t + c1)(2 cov + c2) / ((mu_s^2 + mu_t^2 + c1)(var_s + var_t + c2)).
DETFORGE_API Tensor kd_ssim(const Tensor& student, const Tensor& teacher, double c1 = 1e-4,
                            double c2 = 9e-4);

// A DetKDS feature chain attention -> normalize -> distance in one fused pass, equal to composing
// kd/transforms.h and kd/distances.h on [N, C, H, W]: attention "none" | "satt" | "catt" (tau),
// norm "none" | "norm_HW" | "norm_C" (eps 1e-5), distance "L1" | "L2" | "smooth-L1" | "KL" |
// "cosine" (docs/kd_kernels.md). ConfigError for anything else.
DETFORGE_API Tensor kd_att_norm_dist(const Tensor& student, const Tensor& teacher,
                                     const std::string& attention, double tau,
                                     const std::string& norm, const std::string& distance);
// Whether kd_att_norm_dist takes these names.
DETFORGE_API bool kd_att_norm_dist_supports(const std::string& attention, const std::string& norm,
                                            const std::string& distance);

// DONNA's noise-to-signal ratio over [N, C, *]: mean_c mean((t - s)^2) / (var(t) + eps), the
// mean and the biased variance per channel over N and the trailing dims.
DETFORGE_API Tensor kd_bkd_nsr(const Tensor& student, const Tensor& target, double eps = 1e-8);

// DetKDS's fgbg feature distance with L2: alpha_fg sum(m (s-t)^2) / max(1, C sum m) +
// alpha_bg sum((1-m) (s-t)^2) / max(1, C sum(1-m)); s, t [N, C, *], mask [N, 1, *] in {0, 1}.
// Gradient to the student only (not the teacher, not the mask).
DETFORGE_API Tensor kd_masked_mse(const Tensor& student, const Tensor& teacher, const Tensor& mask,
                                  double alpha_fg = 1.0, double alpha_bg = 1.0);

}  // namespace detforge

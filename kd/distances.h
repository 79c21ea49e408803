// DetKDS distance functions (Table 2, Appendix D.0.2) as differentiable scalar losses composed
// from autograd ops, and the whole distiller loss W * D(T(<f_S, f_T>)).
//
// Row convention: feature tensors [N, C, H, W] have N samples (rows = flatten from dim 1) and
// N*C channel maps; logits are rows [R, D] (kd/transforms.h). s = student, t = teacher.
//  smooth-L1  mean over elements of 0.5 d^2 if |d| < 1 else |d| - 0.5, d = s - t (beta 1)
//  L1         mean |s - t|
//  L2         mean over rows of sqrt(sum (s - t)^2 + 1e-12)   (Appendix D: l2 = sqrt(sum(P-Q)^2))
//  KL         mean over distributions of sum p_t (log p_t - log p_s), p = softmax over HW per
//             (n, c) map for features (channel-wise distributions), over D per row for logits
//  cosine     mean over rows of 1 - <s, t> / (n_s n_t + 1e-8), n = sqrt(sum x^2 + 1e-12)
//  Pearson    cosine of the row-centred vectors (Appendix D)
//  SSIM       features only: per (n, c) map over all HW positions (the paper's formula with
//             global statistics, i.e. one window covering the map): 1 - mean SSIM with
//             C1 = 0.01^2, C2 = 0.03^2 (k1 = 0.01, k2 = 0.03, L = 1), biased (co)variances
//  Cor        logits only (Appendix D Eq. 11): columns standardised over the batch (rows),
//             v_i = (P^T Q / n)_ii, loss log2(sum_i (v_i - 1)^2 + 1e-8)  (alpha = 1)
//  IoU family loc only: [N, 4] side distances (l, t, r, b) -> boxes (-l, -t, r, b);
//             IoU: mean 1 - inter / (union + 1e-7); G-IoU, D-IoU, C-IoU, E-IoU: torchvision
//             0.14's losses (autograd/box_iou.h), reduction mean.
#pragma once
#include <cstdint>
#include <string>

#include "kd/distiller_spec.h"
#include "tensor/tensor.h"

namespace detforge::kd {

// One distance by canonical name (distance_names(in)); ConfigError for one that `in` lacks.
DETFORGE_API Tensor distance(const std::string& name, Input in, const Tensor& s, const Tensor& t);

DETFORGE_API Tensor l2_distance(const Tensor& s, const Tensor& t);
DETFORGE_API Tensor kl_distance(const Tensor& s_rows, const Tensor& t_rows);  // over dim 1
DETFORGE_API Tensor cosine_distance(const Tensor& s_rows, const Tensor& t_rows);
DETFORGE_API Tensor pearson_distance(const Tensor& s_rows, const Tensor& t_rows);
// [N, C, H, W]. Uses the fused kd_ssim (autograd/kd_losses.h) when the teacher needs no gradient
// (its only difference: no teacher gradient); ssim_distance_composed is the autograd-op reference.
DETFORGE_API Tensor ssim_distance(const Tensor& s, const Tensor& t);
DETFORGE_API Tensor ssim_distance_composed(const Tensor& s, const Tensor& t);
DETFORGE_API Tensor correlation_distance(const Tensor& s_rows, const Tensor& t_rows);
DETFORGE_API Tensor ltrb_to_boxes(const Tensor& d);  // [N, 4] -> xyxy
DETFORGE_API Tensor iou_distance(const Tensor& s_ltrb, const Tensor& t_ltrb);

// weight * distance(apply_chain(spec, s, t, seed)). A feature chain [satt|catt] -> [scale_1|
// local_1] -> [norm_HW|norm_C] with distance L1, L2, smooth-L1, KL or cosine (each stage optional)
// runs as one fused kd_att_norm_dist when the teacher needs no gradient (fused_chain_applies);
// distiller_loss_composed always composes autograd ops (the reference semantics).
DETFORGE_API Tensor distiller_loss(const DistillerSpec& spec, const Tensor& s, const Tensor& t,
                                   uint64_t seed = 0);
DETFORGE_API Tensor distiller_loss_composed(const DistillerSpec& spec, const Tensor& s,
                                            const Tensor& t, uint64_t seed = 0);
DETFORGE_API bool fused_chain_applies(const DistillerSpec& spec, const Tensor& s, const Tensor& t);

}  // namespace detforge::kd

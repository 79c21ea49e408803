// Joint-DetNAS knowledge distillation (Yao et al., "Joint-DetNAS", Sec. 3.2), docs/distill.md:
//  feature  L_feat = 1/N_p sum_l sum_{k,c,i,j} (f_adap(RoIAlign(F_S^l, b_k)) - RoIAlign(F_T^l,
//  b_k))^2
//           over the FPN levels l common to both, the object proposals b_k pooled on EVERY level
//           (roi_align, output S x S, spatial scale 2^-level, sampling ratio 2, aligned=False);
//           f_adap a learned 1x1 convolution (with bias) on the student's pooled features;
//           N_p = K * S * S * L, the positive points of the proposal mask over the pooled grids.
//  cls      L_cls = -1/N sum_i softmax(t_i / T) . log_softmax(s_i / T)   (kd_soft_ce)
//  loc      L_reg = 1/N sum_i || sum_{c=1..C} p_t^{i,c} (reg_t^{i,c} - reg_s^{i,c}) ||_1
//           p_t = softmax over the C + 1 teacher logits, the C foreground columns; regression
//           [N, 4 (C+1)] class-specific (background column 0 skipped) or [N, 4] class-agnostic
//           (the same regression for every class: the weight is sum_c p_t^c).
// Teacher tensors are targets (read detached). Empty inputs (no proposals / rows) give a zero loss.
#pragma once
#include <cstdint>
#include <vector>

#include "nn/conv.h"
#include "tensor/tensor.h"

namespace detforge::kd {

// The student-side adaptation: Conv2d(student_channels, teacher_channels, 1) with bias.
class DETFORGE_API FeatureAdaptation : public nn::Cloneable<FeatureAdaptation> {
 public:
  FeatureAdaptation(int64_t student_channels, int64_t teacher_channels);
  std::string type_name() const override { return "FeatureAdaptation"; }
  Tensor forward(const Tensor& x) override;
};

struct FeatureKdLevel {
  Tensor student, teacher;  // [B, C_s, H, W], [B, C_t, H, W] (same H, W)
  int64_t level = 2;        // stride 2^level
};

// rois [K, 5] (image index, x1, y1, x2, y2) in image pixels.
DETFORGE_API Tensor jd_feature_loss(const std::vector<FeatureKdLevel>& levels, const Tensor& rois,
                                    FeatureAdaptation& adapt, int64_t output_size = 7,
                                    int64_t sampling_ratio = 2);
// The same with the adaptation given as its weight [C_t, C_s, 1, 1] and bias [C_t] (gradchecks).
DETFORGE_API Tensor jd_feature_loss(const std::vector<FeatureKdLevel>& levels, const Tensor& rois,
                                    const Tensor& adapt_weight, const Tensor& adapt_bias,
                                    int64_t output_size = 7, int64_t sampling_ratio = 2);
DETFORGE_API Tensor jd_cls_loss(const Tensor& student_logits, const Tensor& teacher_logits,
                                double temperature);
// probs_t: [N, C] foreground weights (two-stage: use jd_foreground_probs); reg [N, 4 G], G = C or
// 1 (class-agnostic).
DETFORGE_API Tensor jd_loc_loss(const Tensor& student_reg, const Tensor& teacher_reg,
                                const Tensor& probs_t);
// softmax over [N, C + 1] logits without the background column 0: [N, C] (no gradient).
DETFORGE_API Tensor jd_foreground_probs(const Tensor& teacher_logits);
// Class-specific [N, 4 (C + 1)] regression without the background column: [N, 4 C]; [N, 4] kept.
DETFORGE_API Tensor jd_foreground_reg(const Tensor& reg, int64_t num_classes_with_bg);

}  // namespace detforge::kd

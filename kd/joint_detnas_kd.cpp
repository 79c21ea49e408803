#include "kd/joint_detnas_kd.h"

#include <cmath>

#include "autograd/conv.h"
#include "autograd/elementwise.h"
#include "autograd/grad_mode.h"
#include "autograd/kd_losses.h"
#include "autograd/reduction.h"
#include "autograd/roi_align.h"
#include "tensor/error.h"

namespace detforge::kd {
namespace {

Tensor zero_like_scalar(const Tensor& like) {
  return Tensor::zeros({}, like.dtype(), like.device());
}

}  // namespace

FeatureAdaptation::FeatureAdaptation(int64_t student_channels, int64_t teacher_channels) {
  register_module("conv", std::make_shared<nn::Conv2d>(student_channels, teacher_channels, 1));
}

Tensor FeatureAdaptation::forward(const Tensor& x) {
  return child<nn::Conv2d>("conv").forward(x);
}

Tensor jd_feature_loss(const std::vector<FeatureKdLevel>& levels, const Tensor& rois,
                       FeatureAdaptation& adapt, int64_t output_size, int64_t sampling_ratio) {
  const nn::Conv2d& c = adapt.child<nn::Conv2d>("conv");
  return jd_feature_loss(levels, rois, c.param("weight"), c.param("bias"), output_size,
                         sampling_ratio);
}

Tensor jd_feature_loss(const std::vector<FeatureKdLevel>& levels, const Tensor& rois,
                       const Tensor& adapt_weight, const Tensor& adapt_bias, int64_t output_size,
                       int64_t sampling_ratio) {
  DF_CHECK(!levels.empty(), ShapeError, "[kd.joint_detnas] feature KD needs at least one level");
  DF_CHECK(rois.dim() == 2 && rois.size(1) == 5, ShapeError, "[kd.joint_detnas] rois ",
           shape_str(rois.shape()), " must be [K, 5]");
  const int64_t k = rois.size(0);
  if (k == 0) return zero_like_scalar(levels[0].student);
  Tensor total;
  for (const auto& l : levels) {
    DF_CHECK(l.student.dim() == 4 && l.teacher.dim() == 4 &&
                 l.student.size(0) == l.teacher.size(0) && l.student.size(2) == l.teacher.size(2) &&
                 l.student.size(3) == l.teacher.size(3),
             ShapeError, "[kd.joint_detnas] level ", l.level, ": student ",
             shape_str(l.student.shape()), " and teacher ", shape_str(l.teacher.shape()),
             " must be [B, C, H, W] with the same B, H, W");
    const double scale = std::ldexp(1.0, static_cast<int>(-l.level));
    Tensor r = rois.to(l.student.device(), l.student.dtype());
    Tensor s = conv2d(roi_align(l.student, r, {output_size}, scale, sampling_ratio), adapt_weight,
                      adapt_bias);
    Tensor t;
    {
      NoGradGuard ng;
      t = roi_align(l.teacher.detach(), r, {output_size}, scale, sampling_ratio);
    }
    Tensor term = sum(square(sub(s, t)));
    total = total.defined() ? add(total, term) : term;
  }
  const double np =
      static_cast<double>(k * output_size * output_size) * static_cast<double>(levels.size());
  return div(total, np);
}

Tensor jd_cls_loss(const Tensor& student_logits, const Tensor& teacher_logits, double temperature) {
  DF_CHECK(student_logits.dim() == 2 && student_logits.shape() == teacher_logits.shape(),
           ShapeError, "[kd.joint_detnas] cls logits: student ", shape_str(student_logits.shape()),
           ", teacher ", shape_str(teacher_logits.shape()), " must be the same [N, C]");
  if (student_logits.size(0) == 0) return zero_like_scalar(student_logits);
  return kd_soft_ce(student_logits, teacher_logits.detach(), temperature);
}

Tensor jd_foreground_probs(const Tensor& teacher_logits) {
  NoGradGuard ng;
  const int64_t c1 = teacher_logits.size(1);
  return softmax(teacher_logits.detach(), 1).narrow(1, 1, c1 - 1);
}

Tensor jd_foreground_reg(const Tensor& reg, int64_t c1) {
  if (reg.size(1) == 4) return reg;
  DF_CHECK(reg.size(1) == 4 * c1, ShapeError, "[kd.joint_detnas] regression ",
           shape_str(reg.shape()), " must be [N, 4] or [N, 4 x ", c1, "]");
  return reg.narrow(1, 4, 4 * (c1 - 1));
}

Tensor jd_loc_loss(const Tensor& student_reg, const Tensor& teacher_reg, const Tensor& probs_t) {
  DF_CHECK(student_reg.dim() == 2 && student_reg.shape() == teacher_reg.shape() &&
               probs_t.dim() == 2 && probs_t.size(0) == student_reg.size(0),
           ShapeError, "[kd.joint_detnas] loc: student ", shape_str(student_reg.shape()),
           ", teacher ", shape_str(teacher_reg.shape()), ", probs ", shape_str(probs_t.shape()));
  const int64_t n = student_reg.size(0), c = probs_t.size(1);
  const int64_t g = student_reg.size(1) / 4;
  DF_CHECK(student_reg.size(1) % 4 == 0 && (g == c || g == 1), ShapeError,
           "[kd.joint_detnas] loc: regression ", shape_str(student_reg.shape()), " for ", c,
           " classes: expected [N, 4 x ", c, "] or [N, 4]");
  if (n == 0) return zero_like_scalar(student_reg);
  Tensor diff = sub(teacher_reg.detach(), student_reg).reshape({n, g, 4});
  Tensor p = probs_t.detach().to(student_reg.dtype());
  Tensor v;
  if (g == 1)
    v = mul(diff.reshape({n, 4}), sum(p, {1}, true));
  else
    v = sum(mul(diff, p.reshape({n, c, 1})), {1});
  return div(sum(abs(v)), static_cast<double>(n));
}

}  // namespace detforge::kd

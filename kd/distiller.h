// Distillation losses evaluated from the student's and the teacher's taps (kd/taps.h,
// kd/teacher.h) and the batch's GT boxes, docs/distill.md:
// - DetKdsDistillers: a list of DetKDS distiller specs (kd/distiller_spec.h), inputs
//     global    every common FPN level (backbone.c5 without FPNs), mean over levels
//     fgbg      the same levels split by the GT-box mask: terms "<name>.fg" (s*m, t*m) and
//               "<name>.bg" (s*(1-m), t*(1-m)), mean over levels
//     instance  GT boxes pooled by MultiScaleRoIAlign (7 x 7, sampling 2) over P2..P5 (what exists)
//     logits    two-stage: the RoI classifier logits, the teacher's on the student's RoIs;
//               RetinaNet: per-anchor logits [N*A, C]; CenterNet: the heatmap [N, C, H, W]
//     loc       side distances (l, t, r, b) in the reference's frame from each prediction
//               (dx, dy, w, h): (w/2 - dx, h/2 - dy, w/2 + dx, h/2 + dy); two-stage: deltas of
//               the teacher's best foreground class (w = exp(dw)); RetinaNet: per anchor;
//               CenterNet: offset and wh per position
//   with a learned 1x1 adaptation (kd::FeatureAdaptation) on the student's features per feature
//   input when the channel counts differ (sized from probe taps).
// - JointDetnasDistiller: Joint-DetNAS Sec. 3.2 (kd/joint_detnas_kd.h) from the same taps: feature
//   KD on the student's positive RoIs (two-stage) or the GT boxes (one-stage families), cls and
//   loc KD on the RoIs (two-stage) / anchors (RetinaNet, sigmoid scores) / positions (CenterNet).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "data/det_sample.h"
#include "detection/detector.h"
#include "detection/roi_pooler.h"
#include "kd/distiller_spec.h"
#include "kd/teacher.h"

namespace detforge::kd {

struct KdBatch {
  const TapMap& student;
  const TapMap& teacher;
  const std::vector<data::DetTarget>& targets;
  int64_t image_h = 0, image_w = 0;  // padded batch size
};

// Base of the distillation-loss modules (their parameters train with the student).
class DETFORGE_API Distiller : public nn::Module {
 public:
  // Named loss terms, weights applied. step seeds DetKDS's `mask` transform.
  virtual detection::LossMap losses(const KdBatch& b, int64_t step) = 0;
};

// FPN levels ("fpn.p<k>") that both tap maps have with the same spatial size, finest first; else
// {"backbone.c5"}. ShapeError when none match.
DETFORGE_API std::vector<std::string> common_feature_levels(const TapMap& s, const TapMap& t);
// GT boxes as [G, 5] rois (image index, box) on `device`.
DETFORGE_API Tensor gt_rois(const std::vector<data::DetTarget>& targets, Device device);
// [N, 1, H, W] 0/1: cell centres ((x + 0.5) * stride) inside any GT box of the image.
DETFORGE_API Tensor gt_mask(const std::vector<data::DetTarget>& targets, const Shape& feature_shape,
                            double stride, DType dtype, Device device);
// (dx, dy, w, h) columns -> (w/2 - dx, h/2 - dy, w/2 + dx, h/2 + dy) [N, 4].
DETFORGE_API Tensor ltrb_from(const Tensor& dx, const Tensor& dy, const Tensor& w, const Tensor& h);

class DETFORGE_API DetKdsDistillers : public nn::Cloneable<DetKdsDistillers, Distiller> {
 public:
  // probe_*: taps of one forward of each model (channel counts for the adaptations).
  DetKdsDistillers(std::vector<DistillerSpec> specs, const TapMap& probe_student,
                   const TapMap& probe_teacher, uint64_t seed = 0);
  std::string type_name() const override { return "DetKdsDistillers"; }
  detection::LossMap losses(const KdBatch& b, int64_t step) override;
  const std::vector<DistillerSpec>& specs() const { return specs_; }

 private:
  Tensor adapt(Input in, const Tensor& s) const;
  std::vector<DistillerSpec> specs_;
  uint64_t seed_;
  std::shared_ptr<detection::MultiScaleRoIAlign> pool_s_, pool_t_;
};

struct JointDetnasOptions {
  double temperature = 1.0;
  double feat_weight = 1.0, cls_weight = 1.0, loc_weight = 1.0;
  int64_t roi_size = 7;
};

class DETFORGE_API JointDetnasDistiller : public nn::Cloneable<JointDetnasDistiller, Distiller> {
 public:
  JointDetnasDistiller(const JointDetnasOptions& o, const TapMap& probe_student,
                       const TapMap& probe_teacher);
  std::string type_name() const override { return "JointDetnasDistiller"; }
  // "kd.feat", "kd.cls", "kd.loc".
  detection::LossMap losses(const KdBatch& b, int64_t step) override;

 private:
  JointDetnasOptions opt_;
};

}  // namespace detforge::kd

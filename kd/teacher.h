// Running a teacher detector for distillation (docs/distill.md): no gradient, eval mode (or
// train-mode batch norm on request), the same batch as the student, its taps collected; a
// two-stage teacher's box head can be run on the student's RoIs instead of its own proposals
// (Joint-DetNAS Sec. 3.2: the teacher's RCNN outputs on the student's proposals).
#pragma once
#include <map>
#include <string>

#include "detection/detector.h"

namespace detforge::kd {

using TapMap = std::map<std::string, Tensor>;

// Whether the detector is a two-stage (RPN + RoI heads) detector.
DETFORGE_API bool is_two_stage(const detection::Detector& det);

// Runs the teacher's network up to its raw outputs (no postprocessing) and returns its taps:
// - two-stage: backbone.*, fpn.*; with student_rois ([K, 5], the student's "roi.rois" tap) the box
//   head runs on them ("roi.rois" = student_rois, "roi.cls_logits", "roi.box_regression");
//   without, on its own RPN proposals ("rpn.proposals" too);
// - RetinaNet: backbone.*, fpn.*, head.cls_logits / head.box_regression / head.anchors;
// - CenterNet: backbone.*, fpn.* (with a neck), head.heatmap / head.wh / head.offset.
// The teacher's train/eval mode is restored. train_bn: batch norm layers in train mode (batch
// statistics, running statistics updated), everything else eval. heads = false: a two-stage
// teacher stops after its FPN (feature-only distillation of a one-stage student).
DETFORGE_API TapMap run_teacher(detection::Detector& teacher, const Tensor& images,
                                const detection::ImageSizes& sizes,
                                const Tensor& student_rois = Tensor(), bool train_bn = false,
                                bool heads = true);

// Per-image boxes from [K, 5] rois (image index in column 0, ascending), `batch` entries.
DETFORGE_API std::vector<Tensor> split_rois(const Tensor& rois, int64_t batch);

}  // namespace detforge::kd

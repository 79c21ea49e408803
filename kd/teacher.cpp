#include "kd/teacher.h"

#include "autograd/grad_mode.h"
#include "autograd/indexing.h"
#include "detection/centernet.h"
#include "detection/faster_rcnn.h"
#include "detection/retinanet.h"
#include "kd/taps.h"
#include "tensor/error.h"

namespace detforge::kd {

bool is_two_stage(const detection::Detector& det) {
  return dynamic_cast<const detection::TwoStageDetector*>(&det) != nullptr;
}

std::vector<Tensor> split_rois(const Tensor& rois, int64_t batch) {
  DF_CHECK(rois.dim() == 2 && rois.size(1) == 5, ShapeError, "[kd.teacher] rois ",
           shape_str(rois.shape()), " must be [K, 5]");
  std::vector<Tensor> out;
  Tensor idx = rois.select(1, 0).to(kCPU, DType::f64).contiguous();  // host sync (named)
  const double* p = static_cast<const double*>(idx.data_ptr());
  const int64_t k = rois.size(0);
  int64_t start = 0;
  for (int64_t b = 0; b < batch; ++b) {
    int64_t end = start;
    while (end < k && static_cast<int64_t>(p[end]) == b) ++end;
    out.push_back(rois.narrow(0, start, end - start).narrow(1, 1, 4));
    start = end;
  }
  DF_CHECK(start == k, ShapeError, "[kd.teacher] rois are not grouped by ascending image index < ",
           batch);
  return out;
}

TapMap run_teacher(detection::Detector& teacher, const Tensor& images,
                   const detection::ImageSizes& sizes, const Tensor& student_rois, bool train_bn,
                   bool heads) {
  const bool was_training = teacher.is_training();
  teacher.eval();
  if (train_bn)
    for (auto& [name, m] : teacher.named_modules())
      if (m->type_name().find("BatchNorm") != std::string::npos) m->train(true);
  TapMap taps;
  try {
    NoGradGuard ng;
    TapRecorder rec;
    if (auto* ts = dynamic_cast<detection::TwoStageDetector*>(&teacher)) {
      detection::FeatureList f = ts->extract_features(images);
      if (!heads) {
        // features only
      } else if (student_rois.defined()) {
        std::vector<Tensor> rois = split_rois(student_rois, images.size(0));
        detection::BoxPredictions p =
            ts->child<detection::RoIHeadsBase>("roi_heads").predict_rois(f, rois, sizes);
        rec.record("roi.rois", student_rois);
        rec.record("roi.cls_logits", p.scores);
        rec.record("roi.box_regression", p.deltas);
      } else {
        detection::RpnOutput r = ts->rpn().forward(f, {images.size(2), images.size(3)}, sizes);
        tap_boxes("rpn.proposals", r.proposals);
        ts->child<detection::RoIHeadsBase>("roi_heads")
            .forward_eval(f, r.proposals, sizes, ts->postprocess);
      }
    } else if (auto* rn = dynamic_cast<detection::RetinaNet*>(&teacher)) {
      rn->forward_raw(images);
    } else if (auto* cn = dynamic_cast<detection::CenterNet*>(&teacher)) {
      cn->predict(images);
    } else {
      throw ConfigError(str_cat("[kd.teacher] unsupported teacher type ", teacher.type_name()));
    }
    taps = rec.all();
  } catch (...) {
    teacher.train(was_training);
    throw;
  }
  teacher.train(was_training);
  return taps;
}

}  // namespace detforge::kd

// Knowledge taps: names recorded per family, zero effect without a recorder, nesting, and the
// teacher run (no grad, eval mode restored, box head on the student's RoIs).
#include <gtest/gtest.h>

#include "kd/taps.h"
#include "kd/teacher.h"
#include "tests/kd/kd_test_util.h"

namespace detforge::kd {
namespace {

using detection::build_detector;

TEST(KdTaps, TwoStageStudentAndTeacherOnStudentRois) {
  auto student = build_detector(test_util::faster_rcnn_cfg("resnet18", 16));
  auto teacher = build_detector(test_util::faster_rcnn_cfg("resnet34", 32));
  auto b = test_util::batch();
  student->train();
  TapRecorder rec;
  student->forward_train(b.images, b.sizes, b.targets);
  for (const char* n : {"backbone.c2", "backbone.c5", "fpn.p2", "fpn.p5", "fpn.p6", "rpn.proposals",
                        "roi.rois", "roi.labels", "roi.cls_logits", "roi.box_regression"})
    EXPECT_TRUE(rec.has(n)) << n;
  EXPECT_EQ(rec.get("fpn.p3").shape(), (Shape{2, 16, 8, 8}));
  const Tensor& rois = rec.get("roi.rois");
  EXPECT_EQ(rec.get("roi.cls_logits").shape(), (Shape{rois.size(0), 4}));
  EXPECT_TRUE(rec.get("roi.cls_logits").requires_grad());

  teacher->train();
  TapMap t = run_teacher(*teacher, b.images, b.sizes, rois);
  EXPECT_TRUE(teacher->is_training());
  EXPECT_EQ(t.at("roi.cls_logits").shape(), (Shape{rois.size(0), 4}));
  EXPECT_EQ(t.at("roi.box_regression").shape(), (Shape{rois.size(0), 16}));
  EXPECT_FALSE(t.at("roi.cls_logits").requires_grad());
  EXPECT_EQ(t.at("fpn.p3").shape(), (Shape{2, 32, 8, 8}));
  EXPECT_EQ(rec.get("fpn.p3").size(1), 16);  // the teacher's taps did not leak into `rec`
  TapMap f = run_teacher(*teacher, b.images, b.sizes, Tensor(), false, /*heads=*/false);
  EXPECT_TRUE(f.count("fpn.p6"));
  EXPECT_FALSE(f.count("rpn.proposals"));
  EXPECT_FALSE(f.count("roi.cls_logits"));
}

TEST(KdTaps, OneStageFamilies) {
  auto b = test_util::batch();
  auto r = build_detector(test_util::retinanet_cfg("resnet18", 16));
  TapMap t = run_teacher(*r, b.images, b.sizes);
  for (const char* n : {"backbone.c3", "fpn.p3", "fpn.p7", "head.cls_logits", "head.box_regression",
                        "head.anchors"})
    EXPECT_TRUE(t.count(n)) << n;
  auto c = build_detector(test_util::centernet_cfg("resnet18", true));
  t = run_teacher(*c, b.images, b.sizes);
  for (const char* n : {"backbone.c5", "fpn.p2", "head.heatmap", "head.wh", "head.offset"})
    EXPECT_TRUE(t.count(n)) << n;
}

TEST(KdTaps, NoRecorderNestingAndErrors) {
  EXPECT_EQ(TapRecorder::current(), nullptr);
  tap("x", Tensor::zeros({1}));  // no-op
  {
    TapRecorder outer;
    {
      TapRecorder inner([](const std::string& n) { return n == "keep"; });
      tap("keep", Tensor::zeros({1}));
      tap("drop", Tensor::zeros({1}));
      EXPECT_TRUE(inner.has("keep"));
      EXPECT_FALSE(inner.has("drop"));
    }
    EXPECT_EQ(TapRecorder::current(), &outer);
    EXPECT_FALSE(outer.has("keep"));
    EXPECT_NE(test::error_of([&] { outer.get("fpn.p3"); }).find("[kd.taps] no tap \"fpn.p3\""),
              std::string::npos);
  }
  EXPECT_EQ(TapRecorder::current(), nullptr);
}

}  // namespace
}  // namespace detforge::kd

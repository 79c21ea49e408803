// DetKDS distillers and the Joint-DetNAS distiller evaluated from real taps of tiny detector pairs
// (homogeneous and heterogeneous), every input, gradients to the student and its adaptation,
// images without GT boxes.
#include <gtest/gtest.h>

#include <cmath>

#include "autograd/elementwise.h"
#include "autograd/reduction.h"
#include "kd/distiller.h"
#include "kd/taps.h"
#include "tests/kd/kd_test_util.h"

namespace detforge::kd {
namespace {

using detection::build_detector;
using nlohmann::json;

struct PairRun {
  TapMap s, t;
  detection::LossMap det;
};

PairRun run_pair(detection::Detector& student, detection::Detector& teacher,
                 const test_util::Batch& b) {
  PairRun r;
  student.train();
  {
    TapRecorder rec;
    r.det = student.forward_train(b.images, b.sizes, b.targets);
    r.s = rec.all();
  }
  Tensor rois = r.s.count("roi.rois") ? r.s.at("roi.rois") : Tensor();
  r.t = run_teacher(teacher, b.images, b.sizes, rois);
  return r;
}

void expect_trains(Distiller& d, detection::Detector& student, const PairRun& r,
                   const test_util::Batch& b, const std::vector<std::string>& names) {
  KdBatch kb{r.s, r.t, b.targets, b.images.size(2), b.images.size(3)};
  detection::LossMap l = d.losses(kb, 0);
  std::vector<std::string> got;
  for (const auto& [n, v] : l) {
    got.push_back(n);
    EXPECT_TRUE(std::isfinite(v.item())) << n;
  }
  EXPECT_EQ(got, names);
  Tensor total = detection::total_loss(l);
  if (!total.requires_grad()) return;
  total.backward();
  double g = 0;
  for (const auto& [n, p] : student.named_parameters())
    if (p.grad().defined()) g += std::abs(sum(p.grad()).item());
  EXPECT_GT(g, 0);
  for (const auto& [n, p] : d.named_parameters()) {
    ASSERT_TRUE(p.grad().defined()) << n;
  }
}

std::vector<DistillerSpec> all_inputs() {
  return parse_distillers(json::parse(R"([
    {"input": "global", "transforms": ["catt", "scale_2", "norm_C"], "distance": "L2", "weight": 1},
    {"input": "fgbg", "transforms": ["norm_HW"], "distance": "smooth-L1", "weight": 2},
    {"input": "instance", "transforms": ["satt"], "distance": "Pearson", "weight": 1},
    {"input": "logits", "transforms": ["norm_C"], "distance": "KL", "weight": 1},
    {"input": "loc", "transforms": ["sigmoid"], "distance": "G-IoU", "weight": 1}])"));
}
const std::vector<std::string> kAllNames = {"kd.global",   "kd.fgbg.fg", "kd.fgbg.bg",
                                            "kd.instance", "kd.logits",  "kd.loc"};

TEST(KdDistiller, DetKdsTwoStageHeterogeneous) {
  auto s = build_detector(test_util::faster_rcnn_cfg("resnet18", 16));
  auto t = build_detector(test_util::faster_rcnn_cfg("resnet34", 32));
  auto b = test_util::batch(true);
  PairRun r = run_pair(*s, *t, b);
  DetKdsDistillers d(all_inputs(), r.s, r.t);
  EXPECT_EQ(d.named_parameters().size(), 6u);  // adaptations for global, fgbg, instance
  expect_trains(d, *s, r, b, kAllNames);
}

TEST(KdDistiller, DetKdsOneStageHomogeneous) {
  auto b = test_util::batch();
  {
    auto s = build_detector(test_util::retinanet_cfg("resnet18", 16));
    auto t = build_detector(test_util::retinanet_cfg("resnet18", 16));
    PairRun r = run_pair(*s, *t, b);
    DetKdsDistillers d(all_inputs(), r.s, r.t);
    EXPECT_EQ(d.named_parameters().size(), 0u);
    expect_trains(d, *s, r, b, kAllNames);
  }
  {
    auto s = build_detector(test_util::centernet_cfg("resnet18", false));
    auto t = build_detector(test_util::centernet_cfg("resnet34", false));
    PairRun r = run_pair(*s, *t, b);
    DetKdsDistillers d(all_inputs(), r.s, r.t);  // backbone.c5 (no FPN), 512 channels both
    expect_trains(d, *s, r, b, kAllNames);
  }
}

TEST(KdDistiller, NoGtBoxes) {
  auto s = build_detector(test_util::retinanet_cfg("resnet18", 16));
  auto t = build_detector(test_util::retinanet_cfg("resnet18", 32));
  auto b = test_util::batch(true);
  for (auto& tg : b.targets) {
    tg.boxes = Tensor::zeros({0, 4});
    tg.labels = Tensor::zeros({0}, DType::i64);
  }
  PairRun r = run_pair(*s, *t, b);
  DetKdsDistillers d(all_inputs(), r.s, r.t);
  KdBatch kb{r.s, r.t, b.targets, 64, 64};
  auto l = d.losses(kb, 0);
  for (const auto& [n, v] : l) EXPECT_TRUE(std::isfinite(v.item())) << n;
  EXPECT_EQ(l[3].first, "kd.instance");
  EXPECT_EQ(l[3].second.item(), 0.0);
  JointDetnasDistiller j({}, r.s, r.t);
  auto lj = j.losses(kb, 0);
  EXPECT_EQ(lj[0].second.item(), 0.0);  // kd.feat: no GT boxes, no proposals
}

TEST(KdDistiller, JointDetnasAllFamilies) {
  auto b = test_util::batch();
  const std::vector<std::string> names = {"kd.feat", "kd.cls", "kd.loc"};
  JointDetnasOptions o;
  o.temperature = 2;
  {
    auto s = build_detector(test_util::faster_rcnn_cfg("resnet18", 16));
    auto t = build_detector(test_util::faster_rcnn_cfg("resnet34", 32));
    PairRun r = run_pair(*s, *t, b);
    JointDetnasDistiller d(o, r.s, r.t);
    expect_trains(d, *s, r, b, names);
  }
  {
    auto s = build_detector(test_util::retinanet_cfg("resnet18", 16));
    auto t = build_detector(test_util::retinanet_cfg("resnet34", 32));
    PairRun r = run_pair(*s, *t, b);
    JointDetnasDistiller d(o, r.s, r.t);
    expect_trains(d, *s, r, b, names);
  }
  {
    auto s = build_detector(test_util::centernet_cfg("resnet18", true));
    auto t = build_detector(test_util::centernet_cfg("resnet18", true));
    PairRun r = run_pair(*s, *t, b);
    JointDetnasDistiller d(o, r.s, r.t);
    expect_trains(d, *s, r, b, names);
  }
}

TEST(KdDistiller, MismatchedHeadsAreErrors) {
  auto b = test_util::batch();
  auto s = build_detector(test_util::retinanet_cfg("resnet18", 16));
  auto t = build_detector(test_util::faster_rcnn_cfg("resnet18", 16));
  PairRun r = run_pair(*s, *t, b);
  DetKdsDistillers d(parse_distillers(json::parse(
                         R"([{"input": "logits", "transforms": ["norm_C"], "distance": "KL"}])")),
                     r.s, r.t);
  KdBatch kb{r.s, r.t, b.targets, 64, 64};
  EXPECT_NE(test::error_of([&] { d.losses(kb, 0); }).find("same kind of head"), std::string::npos);
}

}  // namespace
}  // namespace detforge::kd

namespace detforge::kd {
namespace {

TEST(KdDistiller, GtMaskAndGlobalValue) {
  auto b = test_util::batch();
  // Box (4, 6, 30, 40) at stride 8: cell centres 4, 12, 20, 28 in x; 12, 20, 28, 36 in y.
  Tensor m = gt_mask({b.targets[0]}, {1, 16, 8, 8}, 8.0, DType::f32, kCPU);
  const float* p = static_cast<const float*>(m.data_ptr());
  EXPECT_EQ(p[1 * 8 + 0], 1.f);  // (y 12, x 4)
  EXPECT_EQ(p[0 * 8 + 0], 0.f);  // y 4 < 6
  EXPECT_EQ(p[4 * 8 + 3], 1.f);  // (36, 28)
  EXPECT_EQ(p[5 * 8 + 3], 1.f);  // (44, 28): inside the second box (20, 20, 60, 50)
  EXPECT_EQ(p[7 * 8 + 0], 0.f);
  // global with no transforms and L1 = the mean over common levels of mean |s - t|.
  TapMap s{{"fpn.p2", test::randn({2, 4, 16, 16}, DType::f32, 1)},
           {"fpn.p3", test::randn({2, 4, 8, 8}, DType::f32, 2)}};
  TapMap t{{"fpn.p2", test::randn({2, 4, 16, 16}, DType::f32, 3)},
           {"fpn.p3", test::randn({2, 4, 8, 8}, DType::f32, 4)},
           {"fpn.p4", test::randn({2, 4, 4, 4}, DType::f32, 5)}};
  EXPECT_EQ(common_feature_levels(s, t), (std::vector<std::string>{"fpn.p2", "fpn.p3"}));
  DetKdsDistillers d(
      parse_distillers(
          json::parse(R"([{"input": "global", "transforms": [], "distance": "L1", "weight": 2}])")),
      s, t);
  KdBatch kb{s, t, b.targets, 64, 64};
  auto l = d.losses(kb, 0);
  double want = 0;
  for (const char* n : {"fpn.p2", "fpn.p3"}) want += mean(abs(sub(s.at(n), t.at(n)))).item();
  EXPECT_NEAR(l.at(0).second.item(), 2 * want / 2, 1e-5);
}

TEST(KdTeacher, TrainModeBatchNormOnRequest) {
  auto t = build_detector(test_util::retinanet_cfg("resnet18", 16));
  auto b = test_util::batch();
  Tensor rm = t->submodule("backbone.body.bn1").buffer("running_mean").clone();
  run_teacher(*t, b.images, b.sizes);
  EXPECT_EQ(test::rel_l2(t->submodule("backbone.body.bn1").buffer("running_mean"), rm), 0.0);
  EXPECT_TRUE(t->is_training());  // built in train mode, restored
  run_teacher(*t, b.images, b.sizes, Tensor(), /*train_bn=*/true);
  EXPECT_GT(test::rel_l2(t->submodule("backbone.body.bn1").buffer("running_mean"), rm), 0.0);
  EXPECT_TRUE(t->is_training());
  t->eval();
  run_teacher(*t, b.images, b.sizes, Tensor(), true);
  EXPECT_FALSE(t->is_training());
}

}  // namespace
}  // namespace detforge::kd

namespace detforge::kd {
namespace {

TEST(KdDistiller, FeatureInputsAcrossFamilies) {
  // RetinaNet student (P3..P7, 16 channels) from a Faster R-CNN teacher (P2..P6, 32 channels):
  // the feature inputs use the common levels P3..P6 through the adaptation layers.
  auto s = build_detector(test_util::retinanet_cfg("resnet18", 16));
  auto t = build_detector(test_util::faster_rcnn_cfg("resnet34", 32));
  auto b = test_util::batch();
  PairRun r = run_pair(*s, *t, b);
  EXPECT_EQ(common_feature_levels(r.s, r.t),
            (std::vector<std::string>{"fpn.p3", "fpn.p4", "fpn.p5", "fpn.p6"}));
  DetKdsDistillers d(parse_distillers(json::parse(R"([
    {"input": "global", "transforms": ["catt", "scale_2", "norm_N"], "distance": "L1"},
    {"input": "fgbg", "transforms": ["local_2", "norm_HW"], "distance": "L1"},
    {"input": "instance", "transforms": ["satt", "scale_4", "norm_N"], "distance": "L1"}])")),
                     r.s, r.t);
  expect_trains(d, *s, r, b, {"kd.global", "kd.fgbg.fg", "kd.fgbg.bg", "kd.instance"});
}

}  // namespace
}  // namespace detforge::kd

namespace detforge::kd {
namespace {

TEST(KdDistiller, CascadeStudentFromFasterTeacher) {
  // Class-agnostic cascade regression [K, 4] against the teacher's class-specific [K, 4 (C+1)].
  auto s = build_detector(test_util::cascade_cfg("resnet18", 16));
  auto t = build_detector(test_util::faster_rcnn_cfg("resnet18", 32));
  auto b = test_util::batch();
  PairRun r = run_pair(*s, *t, b);
  EXPECT_EQ(r.s.at("roi.box_regression").size(1), 4);
  JointDetnasDistiller j({}, r.s, r.t);
  expect_trains(j, *s, r, b, {"kd.feat", "kd.cls", "kd.loc"});
  PairRun r2 = run_pair(*s, *t, b);
  DetKdsDistillers d(parse_distillers(json::parse(
                         R"([{"input": "loc", "transforms": ["sigmoid"], "distance": "C-IoU"}])")),
                     r2.s, r2.t);
  expect_trains(d, *s, r2, b, {"kd.loc"});
}

}  // namespace
}  // namespace detforge::kd

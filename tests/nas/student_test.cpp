// The Joint-DetNAS student as a detector: torchvision backbones written as static_resnet (same
// state dict keys), morphism on the detector's backbone with everything else inherited.
#include "nas/search/student.h"

#include <gtest/gtest.h>

#include "autograd/grad_mode.h"
#include "detection/faster_rcnn.h"
#include "tensor/error.h"
#include "tensor/random.h"
#include "tests/test_util.h"

using namespace detforge;
using namespace detforge::nas;
using nlohmann::json;

namespace {

json model_json(const json& backbone) {
  json m = json::parse(R"({"type": "faster_rcnn", "num_classes": 3,
    "neck": {"type": "fpn", "out_channels": 16},
    "rpn": {"anchor_sizes": [[8], [16], [32], [64], [128]], "pre_nms_top_n_test": 50,
            "post_nms_top_n_test": 20},
    "roi_heads": {"representation_size": 16}})");
  m["backbone"] = backbone;
  return m;
}

json small_backbone() {
  return json::parse(R"({"type": "static_resnet", "stem": {"kind": "torchvision", "channels": 8},
    "stages": [[{"in": 8, "out": 8}, {"in": 8, "out": 8}],
               [{"in": 8, "out": 16, "stride": 2}, {"in": 16, "out": 16}],
               [{"in": 16, "out": 16, "stride": 2}],
               [{"in": 16, "out": 24, "stride": 2}, {"in": 24, "out": 24}]]})");
}

std::vector<Tensor> features(detection::Detector& det, const Tensor& x) {
  NoGradGuard ng;
  det.eval();
  auto f = dynamic_cast<detection::TwoStageDetector&>(det).extract_features(x);
  std::vector<Tensor> out;
  for (auto& kv : f) out.push_back(kv.second);
  return out;
}

}  // namespace

TEST(Student, TorchvisionResNetBecomesStaticResNetWithTheSameKeys) {
  const json m = model_json({{"type", "resnet18"}});
  const json s = student_model_json(m);
  EXPECT_EQ(s["backbone"]["type"], "static_resnet");
  EXPECT_EQ(student_depths(s), (std::vector<int64_t>{2, 2, 2, 2}));
  EXPECT_EQ(s["backbone"]["stages"][3][0]["out"], 512);
  auto a = detection::build_detector(m), b = detection::build_detector(s);
  const auto sa = a->state_dict(), sb = b->state_dict();
  ASSERT_EQ(sa.size(), sb.size());
  for (const auto& [k, v] : sa) {
    ASSERT_TRUE(sb.count(k)) << k;
    EXPECT_EQ(sb.at(k).shape(), v.shape()) << k;
  }
  EXPECT_EQ(student_model_json(s), s);  // static_resnet is kept as it is
  EXPECT_THROW(student_model_json(model_json({{"type", "mobilenet_v2"}})), ConfigError);
  EXPECT_THROW(student_model_json(model_json({{"type", "resnet18"}, {"norm", "gn_ws"}})),
               ConfigError);
  json retina = m;
  retina["type"] = "retinanet";
  EXPECT_THROW(student_model_json(retina), ConfigError);
}

TEST(Student, AddLayerKeepsTheFunctionAndInheritsTheRest) {
  manual_seed(3);
  Student s = load_student(model_json(small_backbone()), "");
  const Tensor x = test::randn({2, 3, 64, 64});
  const auto before = features(*s.detector, x);
  json rec;
  Student n = evolve_student(s, MorphAction::add_layer(3), &rec);
  EXPECT_EQ(student_depths(n.model), (std::vector<int64_t>{2, 2, 2, 2}));
  EXPECT_EQ(student_depths(s.model), (std::vector<int64_t>{2, 2, 1, 2}));  // untouched
  const auto after = features(*n.detector, x);
  ASSERT_EQ(before.size(), after.size());
  for (size_t i = 0; i < before.size(); ++i)
    EXPECT_LT(test::rel_l2(after[i], before[i]), 1e-6) << "level " << i;
  // The head is the old detector's.
  const auto so = s.detector->state_dict(), sn = n.detector->state_dict();
  EXPECT_EQ(test::rel_l2(sn.at("roi_heads.box_predictor.cls_score.weight"),
                         so.at("roi_heads.box_predictor.cls_score.weight")),
            0.0);
  // The new model JSON builds the same structure (what the search writes to configs).
  auto rebuilt = detection::build_detector(n.model);
  EXPECT_EQ(rebuilt->state_dict().size(), sn.size());
}

TEST(Student, ChannelPruneShrinksTheBackboneOnly) {
  manual_seed(4);
  Student s = load_student(model_json(small_backbone()), "");
  Student n = evolve_student(s, MorphAction::channel_prune(0.3));
  EXPECT_LT(n.detector->num_parameters(), s.detector->num_parameters());
  EXPECT_EQ(n.model["backbone"]["stages"][3][1]["out"], 24);  // stage outputs (FPN input) kept
  EXPECT_LT(n.model["backbone"]["stages"][0][0]["mid"].get<int64_t>(), 8);
  const auto f = features(*n.detector, test::randn({1, 3, 64, 64}));
  for (const auto& t : f) EXPECT_EQ(test::rel_l2(t, t), 0.0);  // +inf when t holds NaN
  MorphAction residual = MorphAction::channel_prune(0.3);
  residual.channel.prune_residual = true;
  EXPECT_THROW(evolve_student(s, residual), ConfigError);
  EXPECT_THROW(evolve_student(s, MorphAction::rearrange(3, true)), ConfigError);  // only block
}

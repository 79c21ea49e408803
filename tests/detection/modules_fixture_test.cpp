// torchvision 0.14 state dicts (scripts/fixtures/gen_detection_module_fixtures.py) load strictly
// into the detection necks and heads and reproduce torchvision's outputs (computed in float64) in
// eval mode: FPN (max-pool, P6P7 from C5 and from P5, BatchNorm), RPNHead (depth 1 and 2),
// TwoMLPHead + FastRCNNPredictor, RetinaNetHead (plain and GroupNorm), and the CenterNet head
// against a PyTorch reference of the same layout.
#include <gtest/gtest.h>

#include "autograd/grad_mode.h"
#include "detection/fpn.h"
#include "detection/heads/box_head.h"
#include "detection/heads/centernet_head.h"
#include "detection/heads/retinanet_head.h"
#include "detection/heads/rpn_head.h"
#include "nn/serialization.h"
#include "tensor/safetensors.h"
#include "tests/test_util.h"

using namespace detforge;
using namespace detforge::detection;

namespace {
const std::string kDir = std::string(DETFORGE_FIXTURE_DIR) + "/detection/";
constexpr double kTol = 1e-5;

struct Case {
  std::map<std::string, Tensor> io;
  std::vector<Tensor> inputs;
};

Case load_case(nn::Module& m, const std::string& name) {
  nn::StateDict sd = nn::load_state_dict_file(kDir + name + "_weights.safetensors");
  nn::LoadResult r = m.load_state_dict(sd, true);
  EXPECT_TRUE(r.missing.empty() && r.unexpected.empty());
  EXPECT_EQ(m.state_dict().size(), sd.size());
  m.eval();
  Case c;
  c.io = load_safetensors(kDir + name + "_io.safetensors").tensors;
  for (int i = 0; c.io.count("in_" + std::to_string(i)); ++i)
    c.inputs.push_back(c.io.at("in_" + std::to_string(i)));
  return c;
}

FeatureList named(const std::vector<Tensor>& xs) {
  FeatureList f;
  for (size_t i = 0; i < xs.size(); ++i) f.emplace_back(std::to_string(i), xs[i]);
  return f;
}

void check_fpn(FpnOptions o, const std::string& name, const std::vector<std::string>& names) {
  SCOPED_TRACE(name);
  FeaturePyramidNetwork fpn(o);
  Case c = load_case(fpn, name);
  NoGradGuard ng;
  FeatureList out = fpn.forward(named(c.inputs));
  ASSERT_EQ(out.size(), names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    EXPECT_EQ(out[i].first, names[i]);
    DF_EXPECT_CLOSE(out[i].second, c.io.at("out_" + names[i]), kTol);
  }
}
}  // namespace

TEST(DetectionModulesFixture, FpnMaxPool) {
  FpnOptions o;
  o.in_channels = {8, 16, 32};
  o.out_channels = 16;
  o.extra = FpnExtra::max_pool;
  check_fpn(o, "fpn_maxpool", {"0", "1", "2", "pool"});
}

TEST(DetectionModulesFixture, FpnP6P7FromC5) {
  FpnOptions o;
  o.in_channels = {8, 16, 32};
  o.out_channels = 16;
  o.extra = FpnExtra::p6p7;
  o.p6p7_in_channels = 32;
  check_fpn(o, "fpn_p6p7_c5", {"0", "1", "2", "p6", "p7"});
}

TEST(DetectionModulesFixture, FpnP6P7FromP5) {
  FpnOptions o;
  o.in_channels = {8, 16};
  o.out_channels = 16;
  o.extra = FpnExtra::p6p7;
  check_fpn(o, "fpn_p6p7_p5", {"0", "1", "p6", "p7"});
}

TEST(DetectionModulesFixture, FpnBatchNorm) {
  FpnOptions o;
  o.in_channels = {8, 16, 32};
  o.out_channels = 16;
  o.extra = FpnExtra::max_pool;
  o.norm = make_norm_factory("bn");
  check_fpn(o, "fpn_bn", {"0", "1", "2", "pool"});
}

TEST(DetectionModulesFixture, RpnHead) {
  for (auto [name, anchors, depth] :
       {std::tuple<const char*, int, int>{"rpn_head", 3, 1}, {"rpn_head_depth2", 2, 2}}) {
    SCOPED_TRACE(name);
    RPNHead head(16, anchors, depth);
    Case c = load_case(head, name);
    NoGradGuard ng;
    RpnHeadOutput out = head.forward(c.inputs);
    ASSERT_EQ(out.objectness.size(), c.inputs.size());
    for (size_t i = 0; i < c.inputs.size(); ++i) {
      DF_EXPECT_CLOSE(out.objectness[i], c.io.at("out_objectness_" + std::to_string(i)), kTol);
      DF_EXPECT_CLOSE(out.deltas[i], c.io.at("out_deltas_" + std::to_string(i)), kTol);
    }
  }
}

TEST(DetectionModulesFixture, BoxHead) {
  // torchvision's ModuleList([TwoMLPHead, FastRCNNPredictor]): children "0" and "1".
  auto seq = std::make_shared<nn::Sequential>();
  auto mlp = seq->push_back(std::make_shared<TwoMLPHead>(8 * 7 * 7, 32));
  auto pred = seq->push_back(std::make_shared<FastRCNNPredictor>(32, 5));
  Case c = load_case(*seq, "box_head");
  NoGradGuard ng;
  Tensor feat = mlp->forward(c.inputs[0]);
  DF_EXPECT_CLOSE(feat, c.io.at("out_feat"), kTol);
  BoxPredictions p = pred->predict(feat);
  DF_EXPECT_CLOSE(p.scores, c.io.at("out_scores"), kTol);
  DF_EXPECT_CLOSE(p.deltas, c.io.at("out_deltas"), kTol);
  // [K, R, 1, 1] is accepted as torchvision does.
  DF_EXPECT_CLOSE(pred->predict(feat.view({feat.size(0), feat.size(1), 1, 1})).scores,
                  c.io.at("out_scores"), kTol);
}

TEST(DetectionModulesFixture, RetinaNetHead) {
  for (auto [name, gn] :
       {std::pair<const char*, bool>{"retinanet_head", false}, {"retinanet_head_gn", true}}) {
    SCOPED_TRACE(name);
    RetinaNetHead head(16, 3, 5, gn ? make_norm_factory("gn", 4) : NormFactory());
    Case c = load_case(head, name);
    NoGradGuard ng;
    RetinaNetHeadOutput out = head.forward(c.inputs);
    DF_EXPECT_CLOSE(out.cls_logits, c.io.at("out_cls_logits"), kTol);
    DF_EXPECT_CLOSE(out.bbox_regression, c.io.at("out_bbox_regression"), kTol);
  }
}

TEST(DetectionModulesFixture, CenterNetHead) {
  for (auto [name, in, classes, deconv] :
       {std::tuple<const char*, int64_t, int64_t, std::vector<int64_t>>{
            "centernet_head", 32, 3, {16, 8}},
        {"centernet_head_nodeconv", 16, 4, {}}}) {
    SCOPED_TRACE(name);
    CenterNetHeadOptions o;
    o.in_channels = in;
    o.num_classes = classes;
    o.deconv_channels = deconv;
    o.head_conv = 8;
    CenterNetHead head(o);
    Case c = load_case(head, name);
    NoGradGuard ng;
    CenterNetOutput out = head.predict(c.inputs[0]);
    DF_EXPECT_CLOSE(out.heatmap, c.io.at("out_heatmap"), kTol);
    DF_EXPECT_CLOSE(out.wh, c.io.at("out_wh"), kTol);
    DF_EXPECT_CLOSE(out.offset, c.io.at("out_offset"), kTol);
  }
}

// Joint-DetNAS KD losses vs the PyTorch reference written from the paper's formulas
// (scripts/fixtures/gen_distill_fixtures.py), float64 gradchecks w.r.t. the student and the
// adaptation weights, empty inputs.
#include <gtest/gtest.h>

#include "autograd/gradcheck.h"
#include "kd/joint_detnas_kd.h"
#include "tensor/safetensors.h"
#include "tests/test_util.h"

namespace detforge::kd {
namespace {

const SafetensorsFile& fx() {
  static SafetensorsFile f =
      load_safetensors(DETFORGE_FIXTURE_DIR "/kd/joint_detnas_kd.safetensors");
  return f;
}
Tensor T(const std::string& k) {
  return fx().tensors.at(k);
}

void set_adapt(FeatureAdaptation& a, const Tensor& w, const Tensor& b) {
  a.child<nn::Conv2d>("conv").set_parameter("weight", w, w.requires_grad());
  a.child<nn::Conv2d>("conv").set_parameter("bias", b, b.requires_grad());
}

TEST(JointDetnasKd, FeatureLossMatchesTorch) {
  FeatureAdaptation a(3, 4);
  set_adapt(a, T("feat.w").clone().set_requires_grad(true),
            T("feat.b").clone().set_requires_grad(true));
  Tensor s2 = T("feat.s2").clone().set_requires_grad(true);
  Tensor s3 = T("feat.s3").clone().set_requires_grad(true);
  Tensor loss = jd_feature_loss({{s2, T("feat.t2"), 2}, {s3, T("feat.t3"), 3}}, T("feat.rois"), a);
  DF_EXPECT_CLOSE(loss, T("feat.loss"), 1e-5);
  loss.backward();
  DF_EXPECT_CLOSE(s2.grad(), T("feat.grad_s2"), 1e-5);
  DF_EXPECT_CLOSE(s3.grad(), T("feat.grad_s3"), 1e-5);
  DF_EXPECT_CLOSE(a.child<nn::Conv2d>("conv").param("weight").grad(), T("feat.grad_w"), 1e-5);
  DF_EXPECT_CLOSE(a.child<nn::Conv2d>("conv").param("bias").grad(), T("feat.grad_b"), 1e-5);
}

TEST(JointDetnasKd, FeatureLossGradcheck) {
  Tensor s = test::randn({2, 2, 8, 8}, DType::f64, 1).set_requires_grad(true);
  Tensor t = test::randn({2, 3, 8, 8}, DType::f64, 2);
  Tensor w = test::randn({3, 2, 1, 1}, DType::f64, 3).set_requires_grad(true);
  Tensor b = test::randn({3}, DType::f64, 4).set_requires_grad(true);
  Tensor rois = Tensor::from_vector<double>({0, 2, 3, 20, 25, 1, 0, 0, 31, 31}, {2, 5});
  auto r = gradcheck(
      [&](const std::vector<Tensor>& in) {
        return jd_feature_loss({{in[0], t, 2}}, rois, in[1], in[2], 3, 2);
      },
      {s, w, b});
  EXPECT_TRUE(r.ok) << r.message;
}

TEST(JointDetnasKd, NoProposalsGivesZero) {
  FeatureAdaptation a(3, 4);
  Tensor s2 = T("feat.s2").clone().set_requires_grad(true);
  Tensor loss = jd_feature_loss({{s2, T("feat.t2"), 2}}, Tensor::zeros({0, 5}, DType::f32), a);
  EXPECT_EQ(loss.item(), 0.0);
  EXPECT_EQ(jd_cls_loss(Tensor::zeros({0, 5}), Tensor::zeros({0, 5}), 2).item(), 0.0);
  EXPECT_EQ(jd_loc_loss(Tensor::zeros({0, 8}), Tensor::zeros({0, 8}), Tensor::zeros({0, 2})).item(),
            0.0);
}

TEST(JointDetnasKd, ClsLossMatchesTorch) {
  Tensor s = T("cls.s").clone().set_requires_grad(true);
  Tensor loss = jd_cls_loss(s, T("cls.t"), 2.0);
  DF_EXPECT_CLOSE(loss, T("cls.loss"), 1e-5);
  loss.backward();
  DF_EXPECT_CLOSE(s.grad(), T("cls.grad"), 1e-5);
}

TEST(JointDetnasKd, LocLossMatchesTorch) {
  for (std::string p : {"loc", "loca"}) {
    Tensor s = T(p + ".s").clone().set_requires_grad(true);
    Tensor probs = jd_foreground_probs(T("loc.logits"));
    Tensor loss = jd_loc_loss(jd_foreground_reg(s, 5), jd_foreground_reg(T(p + ".t"), 5), probs);
    DF_EXPECT_CLOSE(loss, T(p + ".loss"), 1e-5);
    loss.backward();
    DF_EXPECT_CLOSE(s.grad(), T(p + ".grad"), 1e-5);
  }
}

TEST(JointDetnasKd, ClsAndLocGradcheck) {
  Tensor s = test::randn({4, 3}, DType::f64, 5).set_requires_grad(true);
  Tensor t = test::randn({4, 3}, DType::f64, 6);
  auto r =
      gradcheck([&](const std::vector<Tensor>& in) { return jd_cls_loss(in[0], t, 3.0); }, {s});
  EXPECT_TRUE(r.ok) << r.message;
  Tensor sr = test::randn({4, 12}, DType::f64, 7).set_requires_grad(true);
  Tensor tr = test::randn({4, 12}, DType::f64, 8);
  Tensor probs = jd_foreground_probs(t);
  auto r2 = gradcheck(
      [&](const std::vector<Tensor>& in) {
        return jd_loc_loss(jd_foreground_reg(in[0], 3), jd_foreground_reg(tr, 3), probs);
      },
      {sr});
  EXPECT_TRUE(r2.ok) << r2.message;
}

TEST(JointDetnasKd, ShapeErrors) {
  EXPECT_NE(test::error_of([] {
              jd_cls_loss(Tensor::zeros({2, 3}), Tensor::zeros({2, 4}), 1);
            }).find("[kd.joint_detnas]"),
            std::string::npos);
  EXPECT_NE(test::error_of([] {
              jd_loc_loss(Tensor::zeros({2, 12}), Tensor::zeros({2, 12}), Tensor::zeros({2, 2}));
            }).find("[kd.joint_detnas] loc"),
            std::string::npos);
}

}  // namespace
}  // namespace detforge::kd

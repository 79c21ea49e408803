// Matcher against torchvision 0.14 fixtures (IoU matrices, quantised qualities with ties and
// values on the thresholds), plus the empty cases (a departure: torchvision raises) and errors.
#include <gtest/gtest.h>

#include <limits>
#include <nlohmann/json.hpp>

#include "detection/matcher.h"
#include "tensor/safetensors.h"
#include "tests/test_util.h"

namespace detforge::detection {
namespace {

void check(const std::string& name) {
  SafetensorsFile f = load_safetensors(std::string(DETFORGE_FIXTURE_DIR) + "/detection/matcher_" +
                                       name + ".safetensors");
  auto cfg = nlohmann::json::parse(f.metadata.at("config"));
  Matcher m(cfg["high"].get<double>(), cfg["low"].get<double>(),
            cfg["allow_low_quality_matches"].get<bool>());
  Tensor got = m(f.tensors.at("matrix"));
  ASSERT_EQ(got.dtype(), DType::i64);
  EXPECT_EQ(got.to_vector<int64_t>(), f.tensors.at("expected").to_vector<int64_t>()) << name;
  // Same on a non-contiguous and a float64 copy of the matrix.
  Tensor nc = test::noncontiguous(f.tensors.at("matrix"));
  EXPECT_EQ(m(nc).to_vector<int64_t>(), f.tensors.at("expected").to_vector<int64_t>()) << name;
}

TEST(Matcher, RpnIou) {
  check("rpn_iou");
}
TEST(Matcher, RetinaNetIou) {
  check("retinanet_iou");
}
TEST(Matcher, RoiHeadsIou) {
  check("roi_heads_iou");
}
TEST(Matcher, TiesRpn) {
  check("ties_rpn");
}
TEST(Matcher, TiesNoLowQuality) {
  check("ties_rpn_no_low_quality");
}
TEST(Matcher, TiesRetinaNet) {
  check("ties_retinanet");
}
TEST(Matcher, TiesEqualThresholds) {
  check("ties_equal_thresholds");
}
TEST(Matcher, ZeroRow) {
  check("zero_row");
}

TEST(Matcher, FloatThresholdEquality) {
  // 0.7f < 0.7 in double: a float32 quality of exactly 0.7f is a match (torch compares in float).
  Tensor q = Tensor::from_vector<float>({0.7f, 0.3f, 0.29999998f, 0.69999993f}, {1, 4});
  Matcher m(0.7, 0.3, false);
  EXPECT_EQ(m(q).to_vector<int64_t>(), (std::vector<int64_t>{0, -2, -1, -2}));
}

TEST(Matcher, LowQualityRestoresOwnBestGt) {
  // Prediction 1 is gt 1's best (0.4) but its own argmax is gt 0 (0.45): it gets gt 0.
  Tensor q = Tensor::from_vector<float>({0.9f, 0.45f, 0.1f,  //
                                         0.2f, 0.4f, 0.05f},
                                        {2, 3});
  EXPECT_EQ(Matcher(0.7, 0.3, true)(q).to_vector<int64_t>(), (std::vector<int64_t>{0, 0, -1}));
  EXPECT_EQ(Matcher(0.7, 0.3, false)(q).to_vector<int64_t>(), (std::vector<int64_t>{0, -2, -1}));
}

TEST(Matcher, NaNFollowsTorchMax) {
  // torch.max: a NaN quality wins its column (then neither threshold test holds: the index
  // stays) and makes its row's maximum NaN (no low-quality hits from that row). 40 padding
  // columns push the rows through the vectorised lanes. Expected from torchvision 0.14:
  // [-2, 0, 1, 2, -2] for the first 5 columns, with and without low-quality matches.
  const float n = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> rows[3] = {
      {0.1f, n, 0.8f, 0.2f, 0.35f}, {0.6f, 0.2f, n, 0.1f, 0.3f}, {0.2f, 0.1f, 0.3f, 0.9f, 0.35f}};
  std::vector<float> v;
  for (auto& r : rows) {
    v.insert(v.end(), r.begin(), r.end());
    v.insert(v.end(), 40, 0.05f);
  }
  Tensor q = Tensor::from_vector(v, {3, 45});
  std::vector<int64_t> want{-2, 0, 1, 2, -2};
  want.insert(want.end(), 40, -1);
  EXPECT_EQ(Matcher(0.7, 0.3, true)(q).to_vector<int64_t>(), want);
  EXPECT_EQ(Matcher(0.7, 0.3, false)(q).to_vector<int64_t>(), want);
}

TEST(Matcher, EmptyCases) {
  Matcher m(0.5, 0.4, true);
  EXPECT_EQ(m(Tensor::zeros({0, 5})).to_vector<int64_t>(), std::vector<int64_t>(5, -1));
  EXPECT_EQ(m(Tensor::zeros({3, 0})).numel(), 0);
  EXPECT_EQ(m(Tensor::zeros({0, 0})).numel(), 0);
}

TEST(Matcher, CudaMatchesCpu) {
  if (!cuda_available()) GTEST_SKIP() << test::skip_reason_no_cuda();
  for (const char* name : {"rpn_iou", "ties_rpn", "ties_equal_thresholds", "zero_row"}) {
    SafetensorsFile f = load_safetensors(std::string(DETFORGE_FIXTURE_DIR) + "/detection/matcher_" +
                                         name + ".safetensors");
    Tensor q = f.tensors.at("matrix");
    for (bool lq : {true, false}) {
      Matcher m(0.7, 0.3, lq);
      Tensor got = m(q.to(Device(DeviceType::CUDA, 0)));
      EXPECT_TRUE(got.is_cuda());
      EXPECT_EQ(got.to_vector<int64_t>(), m(q).to_vector<int64_t>()) << name;
    }
  }
  Tensor empty = Matcher(0.5, 0.4)(Tensor::zeros({0, 7}, DType::f32, Device(DeviceType::CUDA, 0)));
  EXPECT_EQ(empty.to_vector<int64_t>(), std::vector<int64_t>(7, -1));
}

TEST(Matcher, Errors) {
  EXPECT_THROW(Matcher(0.3, 0.7), ConfigError);
  Matcher m(0.5, 0.4);
  EXPECT_THROW(m(Tensor::zeros({4})), ShapeError);
  EXPECT_THROW(m(Tensor::zeros({2, 2}, DType::i64)), DTypeError);
}

}  // namespace
}  // namespace detforge::detection

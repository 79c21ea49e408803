// ATSS assignment against the torch transcription in
// scripts/fixtures/gen_detection_training_fixtures.py (random anchors on three levels with topk 9
// and 3, one level smaller than topk, a tiny gt between centres, overlapping gts; a RetinaNet grid
// with one anchor per location), a hand-checked case, the empty cases and shape errors.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "detection/atss_assigner.h"
#include "tensor/error.h"
#include "tensor/safetensors.h"
#include "tests/test_util.h"

namespace detforge::detection {
namespace {

void check(const std::string& name) {
  SafetensorsFile f = load_safetensors(std::string(DETFORGE_FIXTURE_DIR) + "/detection/atss_" +
                                       name + ".safetensors");
  auto cfg = nlohmann::json::parse(f.metadata.at("config"));
  const auto per_level = cfg["anchors_per_level"].get<std::vector<int64_t>>();
  const Tensor& anchors = f.tensors.at("anchors");
  const Tensor& gt = f.tensors.at("gt_boxes");
  const auto expected = f.tensors.at("expected").to_vector<int64_t>();
  Tensor got = atss_assign(gt, anchors, per_level, cfg["topk"].get<int64_t>());
  ASSERT_EQ(got.dtype(), DType::i64);
  EXPECT_EQ(got.to_vector<int64_t>(), expected) << name;
  // The fixture must exercise the rule: some positives, some background.
  int64_t pos = 0;
  for (int64_t v : expected) pos += v >= 0;
  EXPECT_GT(pos, 0) << name;
  EXPECT_LT(pos, static_cast<int64_t>(expected.size())) << name;
  // Non-contiguous inputs give the same.
  EXPECT_EQ(atss_assign(test::noncontiguous(gt), test::noncontiguous(anchors), per_level,
                        cfg["topk"].get<int64_t>())
                .to_vector<int64_t>(),
            expected)
      << name;
}

TEST(AtssAssign, RandomAnchors) {
  check("random");
}
TEST(AtssAssign, RandomAnchorsTopk3) {
  check("random_topk3");
}
TEST(AtssAssign, RetinaNetGrid) {
  check("grid");
}

TEST(AtssAssign, HandChecked) {
  // One level of four 10x10 anchors centred at x = 5, 15, 25, 35 (y = 5); gt [0, 0, 12, 10],
  // centre (6, 5): distances 1, 9, 19, 29, so topk 3 picks anchors 0, 1, 2 with IoUs 100/120,
  // 20/200, 0: mean 0.311, std 0.455, threshold 0.766; only anchor 0 passes (centre inside).
  Tensor anchors = Tensor::from_vector<float>(
      {0, 0, 10, 10, 10, 0, 20, 10, 20, 0, 30, 10, 30, 0, 40, 10}, {4, 4});
  Tensor gt = Tensor::from_vector<float>({0, 0, 12, 10}, {1, 4});
  EXPECT_EQ(atss_assign(gt, anchors, {4}, 3).to_vector<int64_t>(),
            (std::vector<int64_t>{0, -1, -1, -1}));
  // Two gts both claiming anchor 0: the higher IoU wins (gt 1 = the anchor itself).
  Tensor gt2 = Tensor::from_vector<float>({0, 0, 12, 10, 0, 0, 10, 10}, {2, 4});
  EXPECT_EQ(atss_assign(gt2, anchors, {4}, 3).to_vector<int64_t>(),
            (std::vector<int64_t>{1, -1, -1, -1}));
  // gt [0, 6, 10, 16]: anchor 0's IoU 40/160 = 0.25 passes the threshold (mean 0.083 + std
  // 0.144 = 0.228), but its centre (5, 5) lies above the box: no positive.
  Tensor off = Tensor::from_vector<float>({0, 6, 10, 16}, {1, 4});
  EXPECT_EQ(atss_assign(off, anchors, {4}, 3).to_vector<int64_t>(),
            (std::vector<int64_t>{-1, -1, -1, -1}));
  // The same box moved down 2 px holds anchor 0's centre: positive.
  Tensor in = Tensor::from_vector<float>({0, 4, 10, 14}, {1, 4});
  EXPECT_EQ(atss_assign(in, anchors, {4}, 3).to_vector<int64_t>(),
            (std::vector<int64_t>{0, -1, -1, -1}));
}

TEST(AtssAssign, CudaMatchesCpu) {
  if (!cuda_available()) GTEST_SKIP() << test::skip_reason_no_cuda();
  const Device cuda(DeviceType::CUDA, 0);
  for (const char* name : {"random", "random_topk3", "grid"}) {
    SafetensorsFile f = load_safetensors(std::string(DETFORGE_FIXTURE_DIR) + "/detection/atss_" +
                                         name + ".safetensors");
    auto cfg = nlohmann::json::parse(f.metadata.at("config"));
    const auto per_level = cfg["anchors_per_level"].get<std::vector<int64_t>>();
    const int64_t k = cfg["topk"].get<int64_t>();
    Tensor got = atss_assign(f.tensors.at("gt_boxes").to(cuda), f.tensors.at("anchors").to(cuda),
                             per_level, k);
    EXPECT_TRUE(got.is_cuda());
    EXPECT_EQ(got.to_vector<int64_t>(), f.tensors.at("expected").to_vector<int64_t>()) << name;
  }
}

TEST(AtssAssign, EmptyCases) {
  Tensor anchors = Tensor::from_vector<float>({0, 0, 10, 10, 10, 0, 20, 10}, {2, 4});
  EXPECT_EQ(atss_assign(Tensor::zeros({0, 4}), anchors, {2}, 9).to_vector<int64_t>(),
            (std::vector<int64_t>{-1, -1}));
  EXPECT_EQ(atss_assign(Tensor::from_vector<float>({0, 0, 5, 5}, {1, 4}), Tensor::zeros({0, 4}),
                        {0, 0}, 9)
                .numel(),
            0);
}

TEST(AtssAssign, ShapeErrors) {
  Tensor anchors = Tensor::from_vector<float>({0, 0, 10, 10, 10, 0, 20, 10}, {2, 4});
  Tensor gt = Tensor::from_vector<float>({0, 0, 5, 5}, {1, 4});
  EXPECT_THROW(atss_assign(gt, anchors, {3}, 9), ShapeError);  // levels sum to 3, not 2
  EXPECT_THROW(atss_assign(gt, anchors, {2}, 0), ShapeError);  // topk < 1
  EXPECT_THROW(atss_assign(gt.reshape({4}), anchors, {2}, 9), ShapeError);
  EXPECT_THROW(atss_assign(gt, anchors.reshape({8}), {2}, 9), ShapeError);
  EXPECT_THROW(atss_assign(gt, anchors, {3, -1}, 9), ShapeError);
}

}  // namespace
}  // namespace detforge::detection

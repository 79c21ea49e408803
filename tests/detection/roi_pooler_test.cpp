// MultiScaleRoIAlign against torchvision 0.14 (scripts/fixtures/gen_roi_pooler_fixtures.py):
// scales, level mapping, pooled output in box order and the gradients w.r.t. every level.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "detection/roi_pooler.h"
#include "tensor/safetensors.h"
#include "tests/test_util.h"

namespace detforge::detection {
namespace {

struct PoolerFixture {
  std::map<std::string, Tensor> feats;
  std::vector<Tensor> boxes;
  std::vector<std::pair<int64_t, int64_t>> shapes;
  SafetensorsFile f;
};

PoolerFixture load() {
  PoolerFixture p;
  p.f = load_safetensors(DETFORGE_FIXTURE_DIR "/detection/multiscale_roi_align.safetensors");
  for (int i = 0; i < 4; ++i) {
    std::string k = "feat" + std::to_string(i);
    p.feats[k] = p.f.tensors.at(k);
  }
  p.boxes = {p.f.tensors.at("boxes.0"), p.f.tensors.at("boxes.1")};
  for (auto& s : nlohmann::json::parse(p.f.metadata.at("image_shapes")))
    p.shapes.emplace_back(s[0].get<int64_t>(), s[1].get<int64_t>());
  return p;
}

TEST(RoiPooler, ScalesAndLevelsMatchTorchvision) {
  PoolerFixture p = load();
  MultiScaleRoIAlign pooler({"feat0", "feat1", "feat2", "feat3"}, {7}, 2);
  pooler(p.feats, p.boxes, p.shapes);
  auto want = nlohmann::json::parse(p.f.metadata.at("scales")).get<std::vector<double>>();
  EXPECT_EQ(pooler.scales(), want);
  EXPECT_EQ(pooler.level_mapper().k_min, 2);
  EXPECT_EQ(pooler.level_mapper().k_max, 5);
  std::vector<int64_t> levels = pooler.level_mapper()(p.boxes);
  Tensor wl = p.f.tensors.at("levels");
  ASSERT_EQ(static_cast<int64_t>(levels.size()), wl.numel());
  for (int64_t i = 0; i < wl.numel(); ++i)
    EXPECT_EQ(levels[i], static_cast<const int64_t*>(wl.data_ptr())[i]) << "box " << i;
}

TEST(RoiPooler, ForwardAndBackwardMatchTorchvision) {
  PoolerFixture p = load();
  std::map<std::string, Tensor> x;
  for (auto& [k, v] : p.feats) x[k] = v.clone().set_requires_grad(true);
  MultiScaleRoIAlign pooler({"feat0", "feat1", "feat2", "feat3"}, {7}, 2);
  Tensor out = pooler(x, p.boxes, p.shapes);
  std::string m = test::compare(out, p.f.tensors.at("output"), 1e-5);
  EXPECT_TRUE(m.empty()) << m;
  out.backward(p.f.tensors.at("grad_output"));
  for (auto& [k, v] : x) {
    ASSERT_TRUE(v.grad().defined()) << k;
    std::string mg = test::compare(v.grad(), p.f.tensors.at("grad_" + k), 1e-5);
    EXPECT_TRUE(mg.empty()) << k << ": " << mg;
  }
}

TEST(RoiPooler, SingleLevelIsPlainRoiAlign) {
  PoolerFixture p = load();
  MultiScaleRoIAlign pooler({"feat1"}, {3, 2}, 0);
  Tensor out = pooler(p.feats, p.boxes, p.shapes);
  std::string m = test::compare(out, p.f.tensors.at("single"), 1e-5);
  EXPECT_TRUE(m.empty()) << m;
}

TEST(RoiPooler, NoBoxesGiveAnEmptyResult) {
  PoolerFixture p = load();
  MultiScaleRoIAlign pooler({"feat0", "feat1", "feat2", "feat3"}, {7}, 2);
  Tensor out = pooler(p.feats, {Tensor::zeros({0, 4}), Tensor::zeros({0, 4})}, p.shapes);
  EXPECT_EQ(out.shape(), (Shape{0, 3, 7, 7}));
}

TEST(RoiPooler, BoxesToRoisAddsTheImageIndex) {
  Tensor r = boxes_to_rois({Tensor::from_vector<float>({1, 2, 3, 4}, {1, 4}), Tensor::zeros({0, 4}),
                            Tensor::from_vector<float>({5, 6, 7, 8, 9, 10, 11, 12}, {2, 4})});
  ASSERT_EQ(r.shape(), (Shape{3, 5}));
  const float* d = static_cast<const float*>(r.data_ptr());
  std::vector<float> want{0, 1, 2, 3, 4, 2, 5, 6, 7, 8, 2, 9, 10, 11, 12};
  for (int i = 0; i < 15; ++i) EXPECT_EQ(d[i], want[i]) << i;
}

TEST(RoiPooler, MissingFeatureNamesIt) {
  PoolerFixture p = load();
  MultiScaleRoIAlign pooler({"feat0", "p6"}, {7}, 2);
  try {
    pooler(p.feats, p.boxes, p.shapes);
    FAIL() << "expected an error";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("'p6'"), std::string::npos) << e.what();
  }
}

TEST(RoiPooler, CudaMatchesCpu) {
  if (!cuda_available()) GTEST_SKIP() << test::skip_reason_no_cuda();
  PoolerFixture p = load();
  std::map<std::string, Tensor> x;
  for (auto& [k, v] : p.feats) x[k] = v.to(cuda_device(0)).set_requires_grad(true);
  std::vector<Tensor> boxes{p.boxes[0].to(cuda_device(0)), p.boxes[1].to(cuda_device(0))};
  MultiScaleRoIAlign pooler({"feat0", "feat1", "feat2", "feat3"}, {7}, 2);
  Tensor out = pooler(x, boxes, p.shapes);
  EXPECT_TRUE(test::compare(out.to(kCPU), p.f.tensors.at("output"), 1e-5).empty());
  out.backward(p.f.tensors.at("grad_output").to(cuda_device(0)));
  for (auto& [k, v] : x)
    EXPECT_TRUE(test::compare(v.grad().to(kCPU), p.f.tensors.at("grad_" + k), 1e-5).empty()) << k;
}

}  // namespace
}  // namespace detforge::detection

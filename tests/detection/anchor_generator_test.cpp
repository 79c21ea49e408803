// AnchorGenerator against torchvision 0.14 fixtures
// (scripts/fixtures/gen_detection_training_fixtures.py): cell anchors (half-to-even rounding), (y,
// x, a) ordering, integer-division strides, RetinaNet's truncated 3-scales-per-octave sizes; plus
// the cache.
#include <gtest/gtest.h>

#include <cmath>

#include <nlohmann/json.hpp>

#include "detection/anchor_generator.h"
#include "tensor/safetensors.h"
#include "tests/test_util.h"

namespace detforge::detection {
namespace {

struct AnchorFixture {
  SafetensorsFile file;
  nlohmann::json cfg;
};

AnchorFixture load(const std::string& name) {
  AnchorFixture f;
  f.file = load_safetensors(std::string(DETFORGE_FIXTURE_DIR) + "/detection/anchors_" + name +
                            ".safetensors");
  f.cfg = nlohmann::json::parse(f.file.metadata.at("config"));
  return f;
}

// Exact equality (anchors are integers plus integer shifts).
void expect_equal(const Tensor& got, const Tensor& want, const std::string& what) {
  ASSERT_EQ(got.shape(), want.shape()) << what;
  ASSERT_EQ(got.dtype(), want.dtype()) << what;
  auto g = got.to_vector<double>(), w = want.to_vector<double>();
  for (size_t i = 0; i < g.size(); ++i)
    ASSERT_EQ(g[i], w[i]) << what << " element " << i << " (row " << i / 4 << ")";
}

void check(const std::string& name) {
  AnchorFixture f = load(name);
  auto sizes = f.cfg["sizes"].get<std::vector<std::vector<double>>>();
  auto ratios = f.cfg["aspect_ratios"].get<std::vector<std::vector<double>>>();
  auto img = f.cfg["image_size"].get<std::vector<int64_t>>();
  std::vector<Size2> feats;
  for (auto& fs : f.cfg["feature_sizes"])
    feats.push_back({fs[0].get<int64_t>(), fs[1].get<int64_t>()});
  DType dt = f.cfg["dtype"] == "float64" ? DType::f64 : DType::f32;
  AnchorGenerator gen(sizes, ratios);
  for (int64_t l = 0; l < gen.num_levels(); ++l)
    expect_equal(gen.cell_anchors(l), f.file.tensors.at("cell" + std::to_string(l)),
                 name + " cell" + std::to_string(l));
  Tensor a = gen({img[0], img[1]}, feats, dt);
  expect_equal(a, f.file.tensors.at("anchors"), name + " anchors");
}

TEST(AnchorGenerator, FasterRcnnDefaults) {
  check("faster_rcnn");
}
TEST(AnchorGenerator, RetinaNetDefaults) {
  check("retinanet");
}
TEST(AnchorGenerator, OddSizesHalfToEven) {
  check("odd_sizes");
}
TEST(AnchorGenerator, OddSizesFloat64) {
  check("odd_sizes_f64");
}

TEST(AnchorGenerator, RetinaNetSizesTruncateAsTorchvision) {
  auto s = retinanet_anchor_sizes();
  ASSERT_EQ(s.size(), 5u);
  EXPECT_EQ(s[0], (std::vector<double>{32, 40, 50}));
  EXPECT_EQ(s[4], (std::vector<double>{512, 645, 812}));
  auto exact = retinanet_anchor_sizes({32}, false);
  EXPECT_NEAR(exact[0][1], 32 * std::pow(2.0, 1.0 / 3), 1e-12);
  AnchorGenerator r = AnchorGenerator::retinanet_default();
  EXPECT_EQ(r.num_anchors_per_location(), (std::vector<int64_t>(5, 9)));
  EXPECT_EQ(AnchorGenerator::faster_rcnn_default().num_anchors_per_location(),
            (std::vector<int64_t>(5, 3)));
}

TEST(AnchorGenerator, OrderingAndStrides) {
  AnchorGenerator gen({{16}}, {{1.0, 4.0}});  // A = 2
  auto strides = AnchorGenerator::strides_for({50, 70}, {{3, 4}});
  EXPECT_EQ(strides[0], (Size2{16, 17}));  // 50 // 3, 70 // 4
  auto lv = gen.grid_anchors({{3, 4}}, strides);
  ASSERT_EQ(lv[0].shape(), (Shape{3 * 4 * 2, 4}));
  auto v = lv[0].to_vector<float>();
  auto c = gen.cell_anchors(0).to_vector<float>();
  // Row (y = 2, x = 1, a = 1).
  int64_t row = (2 * 4 + 1) * 2 + 1;
  EXPECT_EQ(v[row * 4 + 0], 17 + c[4]);
  EXPECT_EQ(v[row * 4 + 1], 32 + c[5]);
  EXPECT_EQ(v[row * 4 + 2], 17 + c[6]);
  EXPECT_EQ(v[row * 4 + 3], 32 + c[7]);
}

TEST(AnchorGenerator, CacheReturnsSameTensor) {
  AnchorGenerator gen = AnchorGenerator::faster_rcnn_default();
  std::vector<Size2> f{{8, 8}, {4, 4}, {2, 2}, {1, 1}, {1, 1}};
  Tensor a = gen({64, 64}, f);
  Tensor b = gen({64, 64}, f);
  EXPECT_TRUE(a.is_same(b));
  EXPECT_EQ(gen.cache_size(), 1u);
  Tensor c = gen({64, 96}, f);  // other strides
  EXPECT_FALSE(a.is_same(c));
  Tensor d = gen({64, 64}, f, DType::f64);
  EXPECT_EQ(d.dtype(), DType::f64);
  EXPECT_EQ(gen.cache_size(), 3u);
  AnchorGenerator copy = gen;  // copies share the cache
  EXPECT_TRUE(copy({64, 64}, f).is_same(a));
  gen.clear_cache();
  EXPECT_EQ(copy.cache_size(), 0u);
}

TEST(AnchorGenerator, CudaEqualsCpu) {
  if (!cuda_available()) GTEST_SKIP() << test::skip_reason_no_cuda();
  AnchorGenerator gen = AnchorGenerator::retinanet_default();
  std::vector<Size2> f{{8, 8}, {4, 4}, {2, 2}, {1, 1}, {1, 1}};
  Tensor g = gen({64, 64}, f, DType::f32, Device(DeviceType::CUDA, 0));
  EXPECT_TRUE(g.is_cuda());
  expect_equal(g.to(kCPU), gen({64, 64}, f), "cuda anchors");
}

TEST(AnchorGenerator, ConfigErrors) {
  EXPECT_THROW(AnchorGenerator({{32}, {64}}, {{1.0}, {1.0}, {2.0}}), ConfigError);
  EXPECT_THROW(AnchorGenerator({{32}}, {{-1.0}}), ConfigError);
  AnchorGenerator gen({{32}, {64}}, {{1.0}});
  EXPECT_THROW(gen.grid_anchors({{2, 2}}, {{4, 4}}), ShapeError);
}

}  // namespace
}  // namespace detforge::detection

// The FMNIST-Det composer on synthetic items: determinism per (seed, split, index) and across
// thread counts, tight boxes recomputed from the returned alpha layers (occlusion included),
// pairwise IoU, object count / size bounds, valid categories, option validation.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "data/fmnist_det.h"
#include "tensor/error.h"

namespace detforge {
namespace {

// 40 synthetic 28x28 items: filled ellipses of varied size with a textured intensity, labels k
// % 10.
data::FashionMnist synthetic_items() {
  const int64_t n = 40;
  data::FashionMnist fm;
  fm.images = Tensor::zeros({n, 28, 28}, DType::u8);
  fm.labels = Tensor::empty({n}, DType::i64);
  uint8_t* p = fm.images.data<uint8_t>();
  std::mt19937 rng(3);
  for (int64_t k = 0; k < n; ++k) {
    fm.labels.data<int64_t>()[k] = k % 10;
    const double rx = 4 + rng() % 9, ry = 4 + rng() % 9, cx = 13.5, cy = 13.5;
    for (int y = 0; y < 28; ++y)
      for (int x = 0; x < 28; ++x) {
        const double d = std::pow((x - cx) / rx, 2) + std::pow((y - cy) / ry, 2);
        if (d <= 1.0) p[k * 784 + y * 28 + x] = static_cast<uint8_t>(120 + rng() % 136);
      }
  }
  return fm;
}

double iou(const std::array<double, 4>& a, const std::array<double, 4>& b) {
  const double iw = std::min(a[0] + a[2], b[0] + b[2]) - std::max(a[0], b[0]);
  const double ih = std::min(a[1] + a[3], b[1] + b[3]) - std::max(a[1], b[1]);
  if (iw <= 0 || ih <= 0) return 0;
  return iw * ih / (a[2] * a[3] + b[2] * b[3] - iw * ih);
}

TEST(FmnistDet, DeterministicPerSeedSplitIndex) {
  const auto items = synthetic_items();
  data::FmnistDetOptions o;
  auto a = data::compose_fmnist_det(items, o, "train", 5);
  auto b = data::compose_fmnist_det(items, o, "train", 5);
  EXPECT_EQ(a.image.to_vector<int>(), b.image.to_vector<int>());
  ASSERT_EQ(a.objects.size(), b.objects.size());
  for (size_t i = 0; i < a.objects.size(); ++i) EXPECT_EQ(a.objects[i].bbox, b.objects[i].bbox);
  EXPECT_NE(a.image.to_vector<int>(),
            data::compose_fmnist_det(items, o, "train", 6).image.to_vector<int>());
  EXPECT_NE(a.image.to_vector<int>(),
            data::compose_fmnist_det(items, o, "val", 5).image.to_vector<int>());
  o.seed = 1;
  EXPECT_NE(a.image.to_vector<int>(),
            data::compose_fmnist_det(items, o, "train", 5).image.to_vector<int>());
}

TEST(FmnistDet, SplitIndependentOfThreads) {
  const auto items = synthetic_items();
  data::FmnistDetOptions o;
  o.seed = 11;
  auto one = data::generate_fmnist_det_split(items, o, "train", 24, "", 1);
  auto two = data::generate_fmnist_det_split(items, o, "train", 24, "", 2);
  ASSERT_EQ(one.annotations.size(), two.annotations.size());
  for (size_t i = 0; i < one.annotations.size(); ++i) {
    EXPECT_EQ(one.annotations[i].id, static_cast<int64_t>(i) + 1);
    EXPECT_EQ(one.annotations[i].image_id, two.annotations[i].image_id);
    EXPECT_EQ(one.annotations[i].bbox, two.annotations[i].bbox);
  }
  ASSERT_EQ(one.images.size(), 24u);
  EXPECT_EQ(one.images[3].id, 4);
  EXPECT_EQ(one.images[3].file_name, "000003.png");
  ASSERT_EQ(one.categories.size(), 10u);
  EXPECT_EQ(one.categories[0].id, 1);
  EXPECT_EQ(one.categories[0].name, "T-shirt/top");
  EXPECT_EQ(one.categories[9].name, "Ankle boot");
  // A subset is reproducible on its own: image 20 of the split equals a lone compose.
  auto lone = data::compose_fmnist_det(items, o, "train", 20);
  std::vector<std::array<double, 4>> in_split;
  for (const auto& a : one.annotations)
    if (a.image_id == 21) in_split.push_back(a.bbox);
  ASSERT_EQ(in_split.size(), lone.objects.size());
  for (size_t i = 0; i < in_split.size(); ++i) EXPECT_EQ(in_split[i], lone.objects[i].bbox);
}

void check_image(const data::ComposedImage& c, const data::FmnistDetOptions& o) {
  const int64_t H = o.height, W = o.width;
  ASSERT_EQ(c.image.shape(), Shape({H, W, 3}));
  const size_t n = c.objects.size();
  EXPECT_GE(static_cast<int64_t>(n), o.min_objects);
  EXPECT_LE(static_cast<int64_t>(n), o.max_objects);
  ASSERT_EQ(c.alpha.size(), n);
  ASSERT_EQ(c.frame.size(), n);
  for (size_t i = 0; i < n; ++i) {
    const auto& a = c.objects[i];
    EXPECT_GE(a.category_id, 1);
    EXPECT_LE(a.category_id, 10);
    EXPECT_EQ(a.area, a.bbox[2] * a.bbox[3]);
    EXPECT_FALSE(a.iscrowd);
    // Inside the canvas, no larger than the largest item frame.
    EXPECT_GE(a.bbox[0], 0);
    EXPECT_GE(a.bbox[1], 0);
    EXPECT_LE(a.bbox[0] + a.bbox[2], W);
    EXPECT_LE(a.bbox[1] + a.bbox[3], H);
    EXPECT_GE(a.bbox[2], 1);
    EXPECT_LE(a.bbox[2], o.max_size);
    EXPECT_LE(a.bbox[3], o.max_size);
    // The item frame: a side in min_size..max_size, aspect within max_aspect (up to rounding),
    // the box inside it.
    const auto& f = c.frame[i];
    EXPECT_GE(f[2], o.min_size);
    EXPECT_LE(f[2], o.max_size);
    EXPECT_GE(f[3], o.min_size);
    EXPECT_LE(f[3], o.max_size);
    EXPECT_LE(static_cast<double>(std::max(f[2], f[3])) / std::min(f[2], f[3]),
              o.max_aspect * (1.0 + 2.0 / o.min_size));
    EXPECT_GE(a.bbox[0], f[0]);
    EXPECT_GE(a.bbox[1], f[1]);
    EXPECT_LE(a.bbox[0] + a.bbox[2], f[0] + f[2]);
    EXPECT_LE(a.bbox[1] + a.bbox[3], f[1] + f[3]);
    // Visible alpha recomputed from the layers: a_i * prod_{j > i} (1 - a_j).
    const float* ai = c.alpha[i].data<float>();
    int64_t x0 = W, y0 = H, x1 = -1, y1 = -1, own = 0, vis = 0;
    for (int64_t y = 0; y < H; ++y)
      for (int64_t x = 0; x < W; ++x) {
        float v = ai[y * W + x];
        if (v >= o.alpha_threshold) ++own;
        for (size_t j = i + 1; j < n; ++j) v *= 1.0f - c.alpha[j].data<float>()[y * W + x];
        if (v >= o.alpha_threshold) {
          ++vis;
          x0 = std::min(x0, x), y0 = std::min(y0, y), x1 = std::max(x1, x), y1 = std::max(y1, y);
        }
      }
    ASSERT_GT(vis, 0);
    EXPECT_EQ(a.bbox[0], x0);
    EXPECT_EQ(a.bbox[1], y0);
    EXPECT_EQ(a.bbox[2], x1 - x0 + 1);
    EXPECT_EQ(a.bbox[3], y1 - y0 + 1);
    EXPECT_GE(static_cast<double>(vis), o.min_visible * own);
    EXPECT_GE(vis, o.min_pixels);
    for (size_t j = 0; j < i; ++j) EXPECT_LE(iou(c.objects[j].bbox, a.bbox), o.max_iou + 1e-12);
  }
}

TEST(FmnistDet, BoxesTightIouAndBounds) {
  const auto items = synthetic_items();
  data::FmnistDetOptions o;
  int64_t total = 0, occluded_pairs = 0;
  std::vector<int64_t> counts(o.max_objects + 1, 0);
  for (int64_t i = 0; i < 60; ++i) {
    auto c = data::compose_fmnist_det(items, o, "train", i, /*keep_alpha=*/true);
    check_image(c, o);
    if (HasFatalFailure()) return;
    total += static_cast<int64_t>(c.objects.size());
    ++counts[c.objects.size()];
    for (size_t a = 0; a < c.objects.size(); ++a)
      for (size_t b = 0; b < a; ++b)
        occluded_pairs += iou(c.objects[a].bbox, c.objects[b].bbox) > 0;
  }
  // The generator reaches the upper bound and does overlap boxes.
  EXPECT_GT(counts[o.max_objects], 0);
  EXPECT_GT(counts[1], 0);
  EXPECT_GT(occluded_pairs, 0);
  EXPECT_GT(total, 60 * 2);
}

TEST(FmnistDet, OtherOptions) {
  const auto items = synthetic_items();
  data::FmnistDetOptions o;
  o.width = 96;
  o.height = 64;
  o.min_objects = 2;
  o.max_objects = 3;
  o.min_size = 20;
  o.max_size = 30;
  o.max_iou = 0.1;
  o.max_aspect = 1.0;
  o.min_visible = 0.8;
  o.noise = 0;
  o.max_fragments = 0;
  for (int64_t i = 0; i < 20; ++i) {
    check_image(data::compose_fmnist_det(items, o, "val", i, true), o);
    if (HasFatalFailure()) return;
  }
  // Without noise and fragments, an object-free image is a smooth gradient (a step of at most
  // 255 / width per pixel along a row).
  o.min_objects = o.max_objects = 0;
  auto c = data::compose_fmnist_det(items, o, "val", 0);
  EXPECT_TRUE(c.objects.empty());
  auto v = c.image.to_vector<int>();
  for (int64_t x = 1; x < o.width; ++x)
    for (int k = 0; k < 3; ++k)
      EXPECT_LE(std::abs(v[x * 3 + k] - v[(x - 1) * 3 + k]), 255 / o.width + 2);
}

TEST(FmnistDet, ValidateNamesTheOption) {
  auto expect = [](const std::function<void(data::FmnistDetOptions&)>& edit, const char* part) {
    data::FmnistDetOptions o;
    edit(o);
    try {
      data::validate(o);
      ADD_FAILURE() << "no error for " << part;
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
  };
  expect([](auto& o) { o.max_size = 200; }, "max_size");
  expect([](auto& o) { o.min_size = 60; }, "min_size");
  expect([](auto& o) { o.max_objects = 0; }, "max_objects");
  expect([](auto& o) { o.max_iou = 1.5; }, "max_iou");
  expect([](auto& o) { o.min_visible = 0; }, "min_visible");
  expect([](auto& o) { o.max_aspect = 0.5; }, "max_aspect");
  expect([](auto& o) { o.noise = -1; }, "noise");
  expect([](auto& o) { o.min_pixels = 0; }, "min_pixels");
  expect([](auto& o) { o.width = 4; }, "width");
  // Impossible layouts fail with a ConfigError instead of looping.
  const auto items = synthetic_items();
  data::FmnistDetOptions o;
  o.width = o.height = 40;
  o.min_size = o.max_size = 40;
  o.min_objects = o.max_objects = 4;
  o.max_iou = 0;
  o.max_tries = 5;
  EXPECT_THROW(data::compose_fmnist_det(items, o, "train", 0), ConfigError);
}

}  // namespace
}  // namespace detforge

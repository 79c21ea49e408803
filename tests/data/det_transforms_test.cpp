// Detection transforms: keep-ratio resize against torchvision (fixture from
// scripts/fixtures/gen_det_transform_fixtures.py), flip, box transforms, normalisation, padding.
#include <gtest/gtest.h>

#include <cmath>
#include <sstream>

#include "data/det_transforms.h"
#include "tensor/error.h"
#include "tensor/safetensors.h"
#include "tests/test_util.h"

namespace detforge {
namespace {

using data::DetSample;
using data::Normalize;
using data::ResizeRounding;
using data::ResizeSize;
using data::TransformConfig;

const std::string kFixture = std::string(DETFORGE_FIXTURE_DIR) + "/data/det_transforms.safetensors";

Tensor random_image(int64_t h, int64_t w, int64_t c, uint64_t seed) {
  return test::rand_uniform({h, w, c}, 0, 256, DType::f32, seed).to(DType::u8);
}

double max_abs_diff(const Tensor& a, const Tensor& b) {
  EXPECT_EQ(a.shape(), b.shape());
  if (a.shape() != b.shape()) return INFINITY;
  auto va = a.to_vector<double>(), vb = b.to_vector<double>();
  double m = 0;
  for (size_t i = 0; i < va.size(); ++i) m = std::max(m, std::fabs(va[i] - vb[i]));
  return m;
}

std::vector<int64_t> parse_ints(const std::string& s) {
  std::vector<int64_t> v;
  std::stringstream ss(s);
  std::string tok;
  while (std::getline(ss, tok, ',')) v.push_back(std::stoll(tok));
  return v;
}

TEST(DetTransforms, KeepRatioSizeRules) {
  using A = std::array<int64_t, 2>;
  EXPECT_EQ(data::keep_ratio_size(480, 640, {800, 1333}), (A{800, 1066}));
  EXPECT_EQ(data::keep_ratio_size(427, 640, {800, 1333}), (A{799, 1199}));
  EXPECT_EQ(data::keep_ratio_size(800, 800, {800, 1333}), (A{800, 800}));
  EXPECT_EQ(data::keep_ratio_size(61, 61, {61, 100}), (A{60, 60}));  // torchvision's float32 quirk
  EXPECT_EQ(data::keep_ratio_size(100, 1000, {800, 1333}), (A{133, 1333}));  // long side limits
  EXPECT_EQ(data::keep_ratio_size(480, 640, {800, 1333}, ResizeRounding::mmdet), (A{800, 1067}));
  EXPECT_EQ(data::keep_ratio_size(427, 640, {800, 1333}, ResizeRounding::mmdet), (A{800, 1199}));
  EXPECT_EQ(data::keep_ratio_size(640, 427, {800, 1333}, ResizeRounding::mmdet), (A{1199, 800}));
  EXPECT_THROW(data::keep_ratio_size(0, 5, {800, 1333}), ConfigError);
}

TEST(DetTransforms, ResizeMatchesTorchvision) {
  const auto f = load_safetensors(kFixture);
  int cases = 0;
  for (int k = 0; f.tensors.count("img" + std::to_string(k)); ++k, ++cases) {
    SCOPED_TRACE("case " + std::to_string(k));
    const Tensor& img = f.tensors.at("img" + std::to_string(k));
    const Tensor& want = f.tensors.at("out" + std::to_string(k));
    const auto sl = parse_ints(f.metadata.at("resize" + std::to_string(k)));
    const auto hw = data::keep_ratio_size(img.size(0), img.size(1), {sl[0], sl[1]});
    ASSERT_EQ(hw[0], want.size(1));
    ASSERT_EQ(hw[1], want.size(2));
    const Tensor got = data::resize_normalize(img, hw[0], hw[1], false, Normalize::none());
    EXPECT_LE(max_abs_diff(got, want), 1e-4);  // values 0..255: a few ulp (summation order, FMA)
    // Non-contiguous input (a transposed view of a W x H x 3 buffer) gives the same result.
    const Tensor nc = img.transpose(0, 1).contiguous().transpose(0, 1);
    EXPECT_EQ(max_abs_diff(data::resize_normalize(nc, hw[0], hw[1], false, Normalize::none()), got),
              0.0);
  }
  EXPECT_EQ(cases, 7);
}

TEST(DetTransforms, BatchMatchesGeneralizedRCNNTransform) {
  const auto f = load_safetensors(kFixture);
  TransformConfig cfg;
  cfg.clip_boxes = false;  // torchvision does not clip
  cfg.size_divisor = 32;
  std::vector<DetSample> samples;
  for (int i = 0; i < 2; ++i) {
    const Tensor& img = f.tensors.at("batch_img" + std::to_string(i));
    const Tensor& boxes = f.tensors.at("batch_boxes" + std::to_string(i));
    samples.push_back(data::transform_sample(img, boxes, Tensor::ones({boxes.size(0)}, DType::i64),
                                             {64, 96}, false, cfg, 100 + i,
                                             "b" + std::to_string(i)));
  }
  const data::DetBatch b = data::collate(samples, cfg.size_divisor);
  const auto sizes = parse_ints(f.metadata.at("batch_sizes"));
  ASSERT_EQ(b.size(), 2);
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(b.image_sizes[i][0], sizes[2 * i]);
    EXPECT_EQ(b.image_sizes[i][1], sizes[2 * i + 1]);
    EXPECT_EQ(b.targets[i].image_id, 100 + i);
    EXPECT_LE(max_abs_diff(b.targets[i].boxes, f.tensors.at("batch_out_boxes" + std::to_string(i))),
              1e-4);
  }
  const Tensor& want = f.tensors.at("batch_images");
  ASSERT_EQ(b.images.shape(), want.shape());
  EXPECT_LE(max_abs_diff(b.images, want), 1e-4);  // torchvision normalises before resizing
}

TEST(DetTransforms, FlipEqualsMirroredResize) {
  const Tensor img = random_image(13, 21, 3, 1);
  const Tensor a = data::resize_normalize(img, 29, 40, false);
  const Tensor b = data::resize_normalize(img, 29, 40, true);
  auto va = a.to_vector<float>(), vb = b.to_vector<float>();
  for (int64_t c = 0; c < 3; ++c)
    for (int64_t y = 0; y < 29; ++y)
      for (int64_t x = 0; x < 40; ++x)
        ASSERT_EQ(vb[(c * 29 + y) * 40 + x], va[(c * 29 + y) * 40 + (39 - x)])
            << c << " " << y << " " << x;
}

TEST(DetTransforms, GreyEqualsReplicatedRgb) {
  const Tensor grey = random_image(9, 14, 1, 2);
  const Tensor rgb = grey.expand({9, 14, 3}).contiguous();
  // 1 ulp apart at most: the RGB path's AVX2 blend rounds a product the compiler may fuse (FMA) in
  // the grey path.
  EXPECT_LE(max_abs_diff(data::resize_normalize(grey, 20, 31), data::resize_normalize(rgb, 20, 31)),
            1e-5);
}

TEST(DetTransforms, Normalisation) {
  // Identity size: out = (x - mean) / std per channel.
  const Tensor img = random_image(4, 5, 3, 3);
  const Tensor got = data::resize_normalize(img, 4, 5, false, Normalize::imagenet());
  const auto px = img.to_vector<float>();
  const auto out = got.to_vector<float>();
  const float tv_mean[3] = {0.485f, 0.456f, 0.406f}, tv_std[3] = {0.229f, 0.224f, 0.225f};
  for (int c = 0; c < 3; ++c)
    for (int i = 0; i < 20; ++i) {
      const float x = px[i * 3 + c];
      EXPECT_NEAR(out[c * 20 + i], (x - Normalize().mean[c]) / Normalize().std[c], 1e-5);
      EXPECT_NEAR(out[c * 20 + i], (x / 255.f - tv_mean[c]) / tv_std[c],
                  1e-5);  // torchvision's 0..1 convention
    }
  const auto unit = data::resize_normalize(img, 4, 5, false, Normalize::unit()).to_vector<float>();
  const auto raw = data::resize_normalize(img, 4, 5, false, Normalize::none()).to_vector<float>();
  for (int c = 0; c < 3; ++c)
    for (int i = 0; i < 20; ++i) {
      EXPECT_EQ(raw[c * 20 + i], px[i * 3 + c]);
      EXPECT_NEAR(unit[c * 20 + i], px[i * 3 + c] / 255.f, 1e-7);
    }
}

TEST(DetTransforms, BoxTransforms) {
  const Tensor boxes =
      Tensor::from_vector<float>({1, 2, 5, 9, 0, 0, 10, 10, 3.5f, 1, 3.5f, 4}, {3, 4});
  EXPECT_EQ(max_abs_diff(data::hflip_boxes(data::hflip_boxes(boxes, 10), 10), boxes), 0.0);
  EXPECT_EQ(data::hflip_boxes(boxes, 10).to_vector<float>(),
            (std::vector<float>{5, 2, 9, 9, 0, 0, 10, 10, 6.5f, 1, 6.5f, 4}));
  EXPECT_EQ(data::scale_boxes(boxes, 2.f, 0.5f).to_vector<float>(),
            (std::vector<float>{2, 1, 10, 4.5f, 0, 0, 20, 5, 7, 0.5f, 7, 2}));
  EXPECT_EQ(data::clip_boxes(Tensor::from_vector<float>({-1, -2, 12, 30}, {1, 4}), 20, 10)
                .to_vector<float>(),
            (std::vector<float>{0, 0, 10, 20}));
  EXPECT_EQ(data::hflip_boxes(Tensor::empty({0, 4}), 5).shape(), Shape({0, 4}));
  EXPECT_THROW(data::hflip_boxes(Tensor::empty({3, 5}), 5), ShapeError);

  // transform_target: scale by realised ratios, clip, then flip with the resized width.
  TransformConfig cfg;
  const Tensor b = Tensor::from_vector<float>({10, 20, 30, 50, 90, 0, 110, 40}, {2, 4});
  const auto t = data::transform_target(b, Tensor::from_vector<int64_t>({3, 1}, {2}), 50, 100, 25,
                                        50, true, cfg);
  EXPECT_FLOAT_EQ(t.scale_x, 0.5f);
  EXPECT_FLOAT_EQ(t.scale_y, 0.5f);
  EXPECT_TRUE(t.flipped);
  // scaled: (5,10,15,25), (45,0,55,20) -> clipped (45,0,50,20) -> flipped with W=50
  EXPECT_EQ(t.boxes.to_vector<float>(), (std::vector<float>{35, 10, 45, 25, 0, 0, 5, 20}));
  EXPECT_EQ(t.labels.to_vector<int64_t>(), (std::vector<int64_t>{3, 1}));
}

TEST(DetTransforms, SampleBoxesFollowTheImage) {
  // A bright rectangle: after resize + flip its box still covers the bright pixels.
  Tensor img = Tensor::zeros({40, 60, 3}, DType::u8);
  uint8_t* p = img.data<uint8_t>();
  for (int y = 10; y < 20; ++y)
    for (int x = 5; x < 25; ++x)
      for (int c = 0; c < 3; ++c) p[(y * 60 + x) * 3 + c] = 255;
  TransformConfig cfg;
  cfg.normalize = Normalize::unit();
  const auto s = data::transform_sample(img, Tensor::from_vector<float>({5, 10, 25, 20}, {1, 4}),
                                        Tensor::ones({1}, DType::i64), {80, 200}, true, cfg);
  ASSERT_EQ(s.image.shape(), Shape({3, 80, 120}));
  EXPECT_EQ(s.target.boxes.to_vector<float>(), (std::vector<float>{70, 20, 110, 40}));
  const auto v = s.image.to_vector<float>();
  EXPECT_NEAR(v[30 * 120 + 90], 1.f, 1e-6);  // inside the flipped box
  EXPECT_NEAR(v[30 * 120 + 30], 0.f, 1e-6);  // where the box was before flipping
}

TEST(DetTransforms, CollatePadsWithZeros) {
  std::vector<DetSample> s(2);
  s[0].image = test::randn({3, 33, 20});
  s[1].image = test::randn({3, 10, 65}, DType::f32, 1);
  for (auto& x : s) {
    x.target.boxes = Tensor::empty({0, 4});
    x.target.labels = Tensor::empty({0}, DType::i64);
  }
  const auto b = data::collate(s, 32);
  ASSERT_EQ(b.images.shape(), Shape({2, 3, 64, 96}));
  EXPECT_EQ(b.image_sizes[0], (std::array<int64_t, 2>{33, 20}));
  for (int i = 0; i < 2; ++i) {
    const int64_t h = s[i].image.size(1), w = s[i].image.size(2);
    const Tensor slot = b.images.select(0, i);
    EXPECT_EQ(max_abs_diff(slot.narrow(1, 0, h).narrow(2, 0, w).contiguous(), s[i].image), 0.0);
    double pad = 0;
    for (float v : slot.narrow(1, h, 64 - h).contiguous().to_vector<float>()) pad += std::fabs(v);
    for (float v : slot.narrow(1, 0, h).narrow(2, w, 96 - w).contiguous().to_vector<float>())
      pad += std::fabs(v);
    EXPECT_EQ(pad, 0.0);
  }
  EXPECT_EQ(data::padded_size({{33, 20}}, 1), (std::array<int64_t, 2>{33, 20}));
  EXPECT_EQ(data::padded_size({{64, 32}}, 32), (std::array<int64_t, 2>{64, 32}));
  EXPECT_THROW(data::collate({}, 32), ShapeError);
}

TEST(DetTransforms, BadImageErrors) {
  try {
    data::resize_normalize(Tensor::zeros({4, 4, 3}), 2, 2);
    ADD_FAILURE() << "no error";
  } catch (const ShapeError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("[resize_normalize]", 0), 0u) << e.what();
    EXPECT_NE(std::string(e.what()).find("float32"), std::string::npos) << e.what();
  }
  EXPECT_THROW(data::resize_normalize(Tensor::zeros({4, 4, 2}, DType::u8), 2, 2), ShapeError);
}

}  // namespace
}  // namespace detforge

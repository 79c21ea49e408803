// Image I/O through stb: PNG round trips (RGB, grey, RGBA), errors naming the file for missing,
// empty and corrupt PNG / JPEG bytes, and bad tensors for write_png.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "data/image_io.h"
#include "tensor/error.h"

namespace detforge {
namespace {

namespace fs = std::filesystem;

class ImageIoTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("detforge_imgio_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }
  std::string write_bytes(const std::string& name, const std::string& bytes) const {
    std::ofstream(path(name), std::ios::binary) << bytes;
    return path(name);
  }
  static void expect_io_error(const std::string& p, const std::string& part) {
    try {
      data::read_image(p);
      ADD_FAILURE() << "no error for " << p;
    } catch (const IOError& e) {
      const std::string msg = e.what();
      EXPECT_EQ(msg.rfind("[read_image]", 0), 0u) << msg;
      EXPECT_NE(msg.find(p), std::string::npos) << msg;
      EXPECT_NE(msg.find(part), std::string::npos) << "want '" << part << "' in: " << msg;
    }
  }
  fs::path dir_;
};

Tensor pattern(int64_t h, int64_t w, int64_t c) {
  Tensor t = Tensor::empty({h, w, c}, DType::u8);
  uint8_t* p = t.data<uint8_t>();
  for (int64_t i = 0; i < t.numel(); ++i) p[i] = static_cast<uint8_t>((i * 37 + i / 7) & 255);
  return t;
}

TEST_F(ImageIoTest, PngRoundTripRgb) {
  Tensor img = pattern(17, 23, 3);
  data::write_png(path("a.png"), img);
  Tensor back = data::read_image(path("a.png"));
  ASSERT_EQ(back.shape(), Shape({17, 23, 3}));
  EXPECT_EQ(back.to_vector<int>(), img.to_vector<int>());
}

TEST_F(ImageIoTest, PngLevels) {
  Tensor img = pattern(9, 11, 3);
  for (int level : {0, 1, 9}) {
    data::write_png(path("l.png"), img, level);
    EXPECT_EQ(data::read_image(path("l.png")).to_vector<int>(), img.to_vector<int>()) << level;
  }
  EXPECT_THROW(data::encode_png(img, 10), ConfigError);
  EXPECT_THROW(data::encode_png(img, -1), ConfigError);
}

TEST_F(ImageIoTest, PngRoundTripNonContiguous) {
  Tensor big = pattern(20, 30, 3);
  Tensor view = big.slice(1, 0, 30, 2);  // every other column
  data::write_png(path("v.png"), view);
  EXPECT_EQ(data::read_image(path("v.png")).to_vector<int>(), view.contiguous().to_vector<int>());
}

TEST_F(ImageIoTest, GreyAndRgbaBecomeRgb) {
  Tensor grey = pattern(5, 6, 1).view({5, 6});
  data::write_png(path("g.png"), grey);
  Tensor g = data::read_image(path("g.png"));
  ASSERT_EQ(g.shape(), Shape({5, 6, 3}));
  auto gv = g.to_vector<int>();
  auto src = grey.to_vector<int>();
  for (size_t i = 0; i < src.size(); ++i)
    for (int c = 0; c < 3; ++c) EXPECT_EQ(gv[i * 3 + c], src[i]);

  Tensor rgba = pattern(4, 3, 4);
  data::write_png(path("r.png"), rgba);
  Tensor r = data::read_image(path("r.png"));
  ASSERT_EQ(r.shape(), Shape({4, 3, 3}));
  auto rv = r.to_vector<int>();
  auto sv = rgba.to_vector<int>();
  for (size_t i = 0; i < 12; ++i)
    for (int c = 0; c < 3; ++c) EXPECT_EQ(rv[i * 3 + c], sv[i * 4 + c]);
}

// A smooth image (JPEG is lossy: compare within a tolerance).
Tensor gradient(int64_t h, int64_t w, int64_t c) {
  Tensor t = Tensor::empty({h, w, c}, DType::u8);
  uint8_t* p = t.data<uint8_t>();
  for (int64_t y = 0; y < h; ++y)
    for (int64_t x = 0; x < w; ++x)
      for (int64_t k = 0; k < c; ++k)
        p[(y * w + x) * c + k] = static_cast<uint8_t>(40 + (x * 3 + y * 2 + k * 50) % 170);
  return t;
}

TEST_F(ImageIoTest, JpegDecodes) {
  for (int64_t c : {3, 1}) {
    Tensor img = gradient(24, 40, c);
    const std::string p = write_bytes("g.jpg", data::encode_jpeg(img, 95));
    Tensor back = data::read_image(p);
    ASSERT_EQ(back.shape(), Shape({24, 40, 3}));
    auto bv = back.to_vector<int>();
    auto iv = img.to_vector<int>();
    double err = 0;
    for (int64_t i = 0; i < 24 * 40; ++i)
      for (int k = 0; k < 3; ++k) err += std::abs(bv[i * 3 + k] - iv[i * c + (c == 1 ? 0 : k)]);
    EXPECT_LT(err / (24 * 40 * 3), 4.0) << "channels " << c;
  }
  EXPECT_THROW(data::encode_jpeg(gradient(4, 4, 3), 0), ConfigError);
  EXPECT_THROW(data::encode_jpeg(Tensor::zeros({4, 4, 3}, DType::f32)), DTypeError);
}

TEST_F(ImageIoTest, Errors) {
  expect_io_error(path("missing.png"), "cannot open");
  expect_io_error(write_bytes("empty.png", ""), "empty file");
  // A valid PNG cut in half.
  const std::string png = data::encode_png(pattern(16, 16, 3));
  expect_io_error(write_bytes("trunc.png", png.substr(0, png.size() / 2)), "cannot decode");
  // PNG signature followed by garbage.
  expect_io_error(write_bytes("bad.png", png.substr(0, 8) + std::string(100, 'x')),
                  "cannot decode");
  // JPEG SOI + APP0 marker, then garbage.
  expect_io_error(write_bytes("bad.jpg", std::string("\xFF\xD8\xFF\xE0\x00\x10JFIF\x00", 11) +
                                             std::string(64, '\x17')),
                  "cannot decode");
  expect_io_error(write_bytes("text.jpg", "not an image at all"), "cannot decode");
  // A real JPEG cut after its headers.
  const std::string jpg = data::encode_jpeg(gradient(32, 32, 3));
  expect_io_error(write_bytes("trunc.jpg", jpg.substr(0, 200)), "cannot decode");
}

TEST_F(ImageIoTest, WritePngRejectsBadTensors) {
  EXPECT_THROW(data::write_png(path("f.png"), Tensor::zeros({4, 4, 3}, DType::f32)), DTypeError);
  EXPECT_THROW(data::write_png(path("c.png"), Tensor::zeros({4, 4, 2}, DType::u8)), ShapeError);
  EXPECT_THROW(data::write_png(path("d.png"), Tensor::zeros({4}, DType::u8)), ShapeError);
  EXPECT_THROW(data::write_png(path("e.png"), Tensor::zeros({0, 4, 3}, DType::u8)), ShapeError);
  try {
    data::write_png((dir_ / "no_dir" / "x.png").string(), Tensor::zeros({2, 2, 3}, DType::u8));
    ADD_FAILURE();
  } catch (const IOError& e) {
    EXPECT_NE(std::string(e.what()).find("no_dir/x.png"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace detforge

// IDX reader/writer round trips, corrupt-file errors, and the real Fashion-MNIST files.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "data/fashion_mnist.h"
#include "data/idx.h"
#include "tensor/error.h"
#include "tests/test_util.h"

namespace detforge {
namespace {

namespace fs = std::filesystem;

class IdxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("detforge_idx_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string path(const std::string& name) const { return (dir_ / name).string(); }

  // Expects read_idx(p) to throw IOError whose message names the file and contains `part`.
  static void expect_io_error(const std::string& p, const std::string& part) {
    try {
      data::read_idx(p);
      ADD_FAILURE() << "no error for " << p;
    } catch (const IOError& e) {
      const std::string msg = e.what();
      EXPECT_NE(msg.find(p), std::string::npos) << msg;
      EXPECT_NE(msg.find(part), std::string::npos) << "want '" << part << "' in: " << msg;
      EXPECT_EQ(msg.rfind("[read_idx]", 0), 0u) << msg;
    }
  }

  fs::path dir_;
};

// Header of a u8 IDX file with the given dims.
std::string header(uint8_t type, const std::vector<uint32_t>& dims) {
  std::string h = {0, 0, static_cast<char>(type), static_cast<char>(dims.size())};
  for (uint32_t d : dims)
    for (int s = 24; s >= 0; s -= 8) h.push_back(static_cast<char>((d >> s) & 0xFF));
  return h;
}

TEST_F(IdxTest, RoundTripU8PlainAndGzip) {
  Tensor t = Tensor::empty({3, 5, 7}, DType::u8);
  for (int64_t i = 0; i < t.numel(); ++i) t.data<uint8_t>()[i] = static_cast<uint8_t>(i * 37 + 11);
  for (bool gz : {false, true}) {
    const std::string p = path(gz ? "a.idx.gz" : "a.idx");
    data::write_idx(p, t, gz);
    Tensor r = data::read_idx(p);
    EXPECT_EQ(r.dtype(), DType::u8);
    EXPECT_EQ(r.shape(), t.shape());
    DF_EXPECT_CLOSE(r, t, 0.0);
  }
  // The gzip file really is compressed (gzip magic 1f 8b); the plain one starts with the IDX magic.
  std::ifstream gz(path("a.idx.gz"), std::ios::binary), plain(path("a.idx"), std::ios::binary);
  EXPECT_EQ(gz.get(), 0x1f);
  EXPECT_EQ(gz.get(), 0x8b);
  EXPECT_EQ(plain.get(), 0);
  EXPECT_EQ(fs::file_size(path("a.idx")), 4 + 3 * 4 + 105u);
}

TEST_F(IdxTest, RoundTripOtherTypesBigEndian) {
  Tensor i = Tensor::from_vector<int32_t>({1, -2, 0x01020304, -70000}, {2, 2});
  Tensor f = Tensor::from_vector<float>({1.5f, -0.25f, 3e7f}, {3});
  Tensor d = Tensor::from_vector<double>({1.0 / 3.0, -2e-300}, {1, 2});
  for (const Tensor& t : {i, f, d}) {
    data::write_idx(path("t.gz"), t, true);
    Tensor r = data::read_idx(path("t.gz"));
    EXPECT_EQ(r.dtype(), t.dtype());
    DF_EXPECT_CLOSE(r, t, 0.0);
  }
  // Big-endian on disk: int32 0x01020304 is stored as 01 02 03 04 after the 4+8 header bytes.
  data::write_idx(path("i.idx"), i, false);
  std::ifstream in(path("i.idx"), std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_EQ(bytes.size(), 12u + 16u);
  EXPECT_EQ(bytes.substr(0, 4), std::string({0, 0, 0x0C, 2}));
  EXPECT_EQ(bytes.substr(12 + 8, 4), std::string({1, 2, 3, 4}));
}

TEST_F(IdxTest, NonContiguousAndEmpty) {
  Tensor t = Tensor::empty({4, 6}, DType::u8);
  for (int64_t k = 0; k < 24; ++k) t.data<uint8_t>()[k] = static_cast<uint8_t>(k);
  Tensor nc = test::noncontiguous(t);
  data::write_idx(path("nc"), nc, false);
  DF_EXPECT_CLOSE(data::read_idx(path("nc")), t, 0.0);
  Tensor e = Tensor::empty({0, 28}, DType::u8);
  data::write_idx(path("e.gz"), e, true);
  Tensor r = data::read_idx(path("e.gz"));
  EXPECT_EQ(r.shape(), Shape({0, 28}));
}

TEST_F(IdxTest, WriteRejects) {
  EXPECT_THROW(data::write_idx(path("x"), Tensor::zeros({2}, DType::i64), false), DTypeError);
  EXPECT_THROW(data::write_idx(path("x"), Tensor::scalar(1, DType::u8), false), ShapeError);
}

TEST_F(IdxTest, CorruptFilesNameFileAndOffset) {
  const std::string payload(6, '\x07');
  for (bool gz : {false, true}) {
    const std::string sfx = gz ? ".gz" : "";
    expect_io_error(path("missing" + sfx), "cannot open");

    data::write_file_bytes(path("magic" + sfx), std::string({1, 0, 8, 1, 0, 0, 0, 6}) + payload,
                           gz);
    expect_io_error(path("magic" + sfx), "bad magic at byte 0");

    data::write_file_bytes(path("type" + sfx), header(0x0B, {6}) + payload, gz);
    expect_io_error(path("type" + sfx), "unsupported data type 0xb at byte 2");

    data::write_file_bytes(path("short_magic" + sfx), std::string({0, 0}), gz);
    expect_io_error(path("short_magic" + sfx), "truncated at byte 2");

    data::write_file_bytes(path("short_dims" + sfx), header(0x08, {2, 3}).substr(0, 9), gz);
    expect_io_error(path("short_dims" + sfx),
                    "truncated at byte 9: dimension 1 of 2 needs 4 bytes at byte 8");

    data::write_file_bytes(path("short_data" + sfx), header(0x08, {2, 3}) + payload.substr(0, 5),
                           gz);
    expect_io_error(path("short_data" + sfx), "truncated data at byte 17");

    data::write_file_bytes(path("trailing" + sfx), header(0x08, {2, 3}) + payload + "xy", gz);
    expect_io_error(path("trailing" + sfx), "trailing bytes at byte 18");

    data::write_file_bytes(path("empty" + sfx), "", gz);
    expect_io_error(path("empty" + sfx), "truncated at byte 0");
  }
}

TEST_F(IdxTest, CutOffGzipStream) {
  // A .gz file cut in the middle: zlib reports the end of file inside the stream.
  std::string big = header(0x08, {4096});
  for (int k = 0; k < 4096; ++k) big.push_back(static_cast<char>((k * 7919) & 0xFF));
  data::write_file_bytes(path("full.gz"), big, true);
  const auto size = fs::file_size(path("full.gz"));
  std::ifstream in(path("full.gz"), std::ios::binary);
  std::string gz((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  data::write_file_bytes(path("cut.gz"), gz.substr(0, size / 2), false);
  expect_io_error(path("cut.gz"), "truncated");
  // Only the 8-byte gzip trailer missing: all data arrives, the stream is still cut off.
  data::write_file_bytes(path("notrailer.gz"), gz.substr(0, size - 8), false);
  expect_io_error(path("notrailer.gz"), "truncated");
}

TEST_F(IdxTest, FashionMnistSyntheticDirAndErrors) {
  // A fake dataset dir: wrong count -> IOError naming the file; bad split -> ConfigError.
  data::write_idx(path("t10k-images-idx3-ubyte.gz"), Tensor::zeros({5, 28, 28}, DType::u8), true);
  data::write_idx(path("t10k-labels-idx1-ubyte.gz"), Tensor::zeros({5}, DType::u8), true);
  try {
    data::load_fashion_mnist("test", dir_.string());
    ADD_FAILURE() << "no error";
  } catch (const IOError& e) {
    EXPECT_NE(std::string(e.what()).find("t10k-images-idx3-ubyte.gz"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("[10000, 28, 28]"), std::string::npos) << e.what();
  }
  EXPECT_THROW(data::load_fashion_mnist("val", dir_.string()), ConfigError);
  try {
    data::load_fashion_mnist("train", dir_.string());
    ADD_FAILURE() << "no error";
  } catch (const IOError& e) {
    EXPECT_NE(std::string(e.what()).find("train-images-idx3-ubyte.gz"), std::string::npos)
        << e.what();
  }
  // Labels outside 0..9 (plain, not gzip, files are found too).
  data::write_idx(path("t10k-images-idx3-ubyte"), Tensor::zeros({10000, 28, 28}, DType::u8), false);
  Tensor lbl = Tensor::zeros({10000}, DType::u8);
  lbl.data<uint8_t>()[1234] = 10;
  data::write_idx(path("t10k-labels-idx1-ubyte"), lbl, false);
  fs::remove(path("t10k-images-idx3-ubyte.gz"));
  fs::remove(path("t10k-labels-idx1-ubyte.gz"));
  try {
    data::load_fashion_mnist("test", dir_.string());
    ADD_FAILURE() << "no error";
  } catch (const IOError& e) {
    EXPECT_NE(std::string(e.what()).find("label 10 at index 1234"), std::string::npos) << e.what();
  }
  // The environment variable overrides the default directory.
  ::setenv("DETFORGE_FASHION_MNIST_DIR", dir_.c_str(), 1);
  EXPECT_EQ(data::fashion_mnist_dir(), dir_.string());
  EXPECT_THROW(data::load_fashion_mnist("test"), IOError);
  ::unsetenv("DETFORGE_FASHION_MNIST_DIR");
  EXPECT_EQ(data::fashion_mnist_dir(), data::kFashionMnistDefaultDir);
  EXPECT_STREQ(data::fashion_mnist_class_names()[9], "Ankle boot");
}

// FNV-1a 64 over all image bytes.
uint64_t fnv1a(const Tensor& t) {
  uint64_t h = 0xcbf29ce484222325ull;
  const uint8_t* p = t.data<uint8_t>();
  for (int64_t i = 0; i < t.numel(); ++i) h = (h ^ p[i]) * 0x100000001b3ull;
  return h;
}

TEST(FashionMnist, RealDataset) {
  const std::string dir = data::kFashionMnistDefaultDir;
  for (const char* f : {"train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
                        "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"}) {
    if (!fs::exists(dir + "/" + f))
      GTEST_SKIP() << dir << "/" << f
                   << " is absent (Debian package dataset-fashion-mnist not installed)";
  }
  // Expected values computed independently with Python's gzip module over the package files.
  struct Want {
    const char* split;
    int64_t n;
    uint64_t pixel_sum, fnv;
    int64_t first_labels[10];
  };
  const Want wants[] = {
      {"train", 60000, 3431114169ull, 0x51ac53b882edba04ull, {9, 0, 0, 3, 0, 2, 7, 2, 5, 5}},
      {"test", 10000, 573469082ull, 0x1b11fc03671b2f71ull, {9, 2, 1, 1, 6, 1, 4, 6, 5, 7}},
  };
  for (const Want& w : wants) {
    data::FashionMnist ds = data::load_fashion_mnist(w.split, dir);
    EXPECT_EQ(ds.images.dtype(), DType::u8);
    EXPECT_EQ(ds.images.shape(), Shape({w.n, 28, 28}));
    EXPECT_EQ(ds.labels.dtype(), DType::i64);
    EXPECT_EQ(ds.labels.shape(), Shape({w.n}));
    int64_t hist[10] = {};
    for (int64_t i = 0; i < w.n; ++i) ++hist[ds.labels.data<int64_t>()[i]];
    for (int c = 0; c < 10; ++c) EXPECT_EQ(hist[c], w.n / 10) << w.split << " class " << c;
    for (int i = 0; i < 10; ++i)
      EXPECT_EQ(ds.labels.data<int64_t>()[i], w.first_labels[i]) << w.split;
    uint64_t sum = 0;
    const uint8_t* p = ds.images.data<uint8_t>();
    for (int64_t i = 0; i < ds.images.numel(); ++i) sum += p[i];
    const uint64_t h = fnv1a(ds.images);
    std::printf("fashion-mnist %s: %lld images, pixel sum %llu, fnv1a64 0x%016llx\n", w.split,
                static_cast<long long>(w.n), static_cast<unsigned long long>(sum),
                static_cast<unsigned long long>(h));
    EXPECT_EQ(sum, w.pixel_sum) << w.split;
    EXPECT_EQ(h, w.fnv) << w.split;
  }
}

}  // namespace
}  // namespace detforge

#include "data/fashion_mnist.h"

#include <cstdlib>
#include <fstream>

#include "data/idx.h"
#include "tensor/error.h"

namespace detforge::data {
namespace {

// "<dir>/<stem>.gz" when it exists, else "<dir>/<stem>" when that exists, else the .gz name (so
// the missing-file error names the file the package installs).
std::string locate(const std::string& dir, const std::string& stem) {
  const std::string gz = dir + "/" + stem + ".gz";
  if (std::ifstream(gz, std::ios::binary).good()) return gz;
  const std::string plain = dir + "/" + stem;
  if (std::ifstream(plain, std::ios::binary).good()) return plain;
  return gz;
}

}  // namespace

const std::array<const char*, 10>& fashion_mnist_class_names() {
  static const std::array<const char*, 10> names = {
      "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
      "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
  return names;
}

std::string fashion_mnist_dir() {
  const char* env = std::getenv("DETFORGE_FASHION_MNIST_DIR");
  return env && *env ? std::string(env) : std::string(kFashionMnistDefaultDir);
}

FashionMnist load_fashion_mnist(const std::string& split, const std::string& dir_in) {
  DF_CHECK(split == "train" || split == "test", ConfigError, "[fashion_mnist] unknown split '",
           split, "' (expected train or test)");
  const std::string dir = dir_in.empty() ? fashion_mnist_dir() : dir_in;
  const std::string prefix = split == "train" ? "train" : "t10k";
  const int64_t n = split == "train" ? kFashionMnistTrain : kFashionMnistTest;
  const std::string img_path = locate(dir, prefix + "-images-idx3-ubyte");
  const std::string lbl_path = locate(dir, prefix + "-labels-idx1-ubyte");

  FashionMnist out;
  out.images = read_idx(img_path);
  DF_CHECK(out.images.dtype() == DType::u8 &&
               out.images.shape() == Shape({n, kFashionMnistSide, kFashionMnistSide}),
           IOError, "[fashion_mnist] ", img_path, ": expected u8 [", n, ", 28, 28] images, got ",
           dtype_name(out.images.dtype()), " ", shape_str(out.images.shape()));

  Tensor raw = read_idx(lbl_path);
  DF_CHECK(raw.dtype() == DType::u8 && raw.shape() == Shape({n}), IOError, "[fashion_mnist] ",
           lbl_path, ": expected u8 [", n, "] labels, got ", dtype_name(raw.dtype()), " ",
           shape_str(raw.shape()));
  out.labels = Tensor::empty({n}, DType::i64);
  const uint8_t* src = raw.data<uint8_t>();
  int64_t* dst = out.labels.data<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    DF_CHECK(src[i] < kFashionMnistClasses, IOError, "[fashion_mnist] ", lbl_path, ": label ",
             int(src[i]), " at index ", i, " (byte ", 8 + i, ") is outside 0..9");
    dst[i] = src[i];
  }
  return out;
}

}  // namespace detforge::data

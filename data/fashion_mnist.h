// Fashion-MNIST (Xiao et al. 2017): 28x28 grey images of 10 clothing classes, 60000 train / 10000
// test, as the four IDX .gz files of Debian's dataset-fashion-mnist package.
#pragma once
#include <array>
#include <string>

#include "tensor/tensor.h"

namespace detforge::data {

constexpr int64_t kFashionMnistClasses = 10;
constexpr int64_t kFashionMnistSide = 28;
constexpr int64_t kFashionMnistTrain = 60000;
constexpr int64_t kFashionMnistTest = 10000;
constexpr const char* kFashionMnistDefaultDir = "/usr/share/datasets/fashion-mnist";

// Index = label.
DETFORGE_API const std::array<const char*, 10>& fashion_mnist_class_names();

struct FashionMnist {
  Tensor images;  // u8 [N, 28, 28], CPU, contiguous
  Tensor labels;  // i64 [N], values 0..9
};

// The directory the files are read from: $DETFORGE_FASHION_MNIST_DIR when set and non-empty, else
// kFashionMnistDefaultDir.
DETFORGE_API std::string fashion_mnist_dir();

// Loads split "train" (60000) or "test" (10000) from `dir`
// ({train,t10k}-{images-idx3,labels-idx1}-ubyte, with or without .gz; empty dir =
// fashion_mnist_dir()). Throws ConfigError for an unknown split, IOError naming the file for
// missing/corrupt files, wrong shapes or counts, or labels outside 0..9.
DETFORGE_API FashionMnist load_fashion_mnist(const std::string& split, const std::string& dir = "");

}  // namespace detforge::data

// Counter-based random numbers (Philox4x32-10, tensor/philox.h): identical values on CPU and CUDA
// for one (seed, offset). A Generator holds a seed and an offset; each call uses the counters
// [offset, offset + numel) and advances the offset by numel.
#pragma once
#include <cstdint>
#include <mutex>
#include <utility>

#include "tensor/tensor.h"

namespace detforge {

class DETFORGE_API Generator {
 public:
  explicit Generator(uint64_t seed = 0) : seed_(seed) {}
  Generator(const Generator&) = delete;
  Generator& operator=(const Generator&) = delete;

  uint64_t seed() const;
  uint64_t offset() const;
  void manual_seed(uint64_t seed);  // sets the seed and resets the offset to 0
  void set_offset(uint64_t offset);
  // Reserves n counters: returns (seed, first offset) and advances the offset by n.
  std::pair<uint64_t, uint64_t> reserve(uint64_t n);

 private:
  mutable std::mutex mu_;
  uint64_t seed_ = 0;
  uint64_t offset_ = 0;
};

// The process-wide default generator (seed 0 until manual_seed).
DETFORGE_API Generator& default_generator();
DETFORGE_API void manual_seed(uint64_t seed);

// Uniform [0, 1) (floating dtypes).
DETFORGE_API Tensor rand(const Shape& shape, Generator& gen, DType dtype = DType::f32,
                         Device device = kCPU);
DETFORGE_API Tensor rand(const Shape& shape, DType dtype = DType::f32, Device device = kCPU);
// Standard normal (floating dtypes).
DETFORGE_API Tensor randn(const Shape& shape, Generator& gen, DType dtype = DType::f32,
                          Device device = kCPU);
DETFORGE_API Tensor randn(const Shape& shape, DType dtype = DType::f32, Device device = kCPU);
// 1 with probability p, else 0 (any dtype).
DETFORGE_API Tensor bernoulli(const Shape& shape, double p, Generator& gen,
                              DType dtype = DType::f32, Device device = kCPU);
DETFORGE_API Tensor bernoulli(const Shape& shape, double p, DType dtype = DType::f32,
                              Device device = kCPU);
// Uniform integers in [low, high) (numeric dtypes).
DETFORGE_API Tensor randint(int64_t low, int64_t high, const Shape& shape, Generator& gen,
                            DType dtype = DType::i64, Device device = kCPU);
DETFORGE_API Tensor randint(int64_t low, int64_t high, const Shape& shape, DType dtype = DType::i64,
                            Device device = kCPU);
// A random permutation of 0..n-1 (i32 or i64): indices sorted by random 64-bit keys, ties by index.
DETFORGE_API Tensor randperm(int64_t n, Generator& gen, DType dtype = DType::i64,
                             Device device = kCPU);
DETFORGE_API Tensor randperm(int64_t n, DType dtype = DType::i64, Device device = kCPU);

}  // namespace detforge

// Internal: the per-element rule of the random functions, shared by tensor/random.cpp (CPU) and
// tensor/cuda/random.cu.
#pragma once
#include <type_traits>

#include "tensor/dtype_cast.h"
#include "tensor/philox.h"
#include "tensor/tensor.h"

namespace detforge::random_detail {

enum class Kind : uint8_t { uniform, normal, bernoulli, randint };

struct Params {
  Kind kind = Kind::uniform;
  uint64_t seed = 0;
  uint64_t offset = 0;
  double p = 0;
  int64_t low = 0, high = 1;
};

// Value of element i. Uniform values use as many bits as T holds exactly (24 for float, 53 for
// double, 11 for half, 8 for bfloat16), so rounding can never produce 1.0.
template <class T>
DETFORGE_HD inline T value(const Params& p, uint64_t i) {
  philox::Block b = philox::element_block(p.seed, p.offset, i);
  switch (p.kind) {
    case Kind::uniform:
      if constexpr (std::is_same_v<T, double>) {
        return philox::uniform_double(b);
      } else if constexpr (std::is_same_v<T, Half>) {
        return T(static_cast<float>(b.w[0] >> 21) * (1.0f / 2048.0f));
      } else if constexpr (std::is_same_v<T, BFloat16>) {
        return T(static_cast<float>(b.w[0] >> 24) * (1.0f / 256.0f));
      } else {
        return cast_to<T>(philox::uniform_float(b));
      }
    case Kind::normal:
      return cast_to<T>(philox::normal_double(b));
    case Kind::bernoulli:
      return cast_to<T>(philox::bernoulli(b, p.p) ? 1 : 0);
    case Kind::randint:
      return cast_to<T>(philox::randint(b, p.low, p.high));
  }
  return T();
}

// Fills a contiguous tensor (tensor/cuda/random.cu; throws in a CPU-only build).
void fill_cuda(const Tensor& out, const Params& p);
// out: contiguous int64 of n elements on a CUDA device.
void randperm_cuda(const Tensor& out, uint64_t seed, uint64_t offset);

}  // namespace detforge::random_detail

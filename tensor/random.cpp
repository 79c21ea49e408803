#include "tensor/random.h"

#include <algorithm>
#include <numeric>
#include <vector>

#include "tensor/parallel.h"
#include "tensor/random_impl.h"
#include "tensor/view_ops.h"

namespace detforge {

uint64_t Generator::seed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return seed_;
}
uint64_t Generator::offset() const {
  std::lock_guard<std::mutex> lock(mu_);
  return offset_;
}
void Generator::manual_seed(uint64_t seed) {
  std::lock_guard<std::mutex> lock(mu_);
  seed_ = seed;
  offset_ = 0;
}
void Generator::set_offset(uint64_t offset) {
  std::lock_guard<std::mutex> lock(mu_);
  offset_ = offset;
}
std::pair<uint64_t, uint64_t> Generator::reserve(uint64_t n) {
  std::lock_guard<std::mutex> lock(mu_);
  uint64_t first = offset_;
  offset_ += n;
  return {seed_, first};
}

Generator& default_generator() {
  static Generator g(0);
  return g;
}
void manual_seed(uint64_t seed) {
  default_generator().manual_seed(seed);
}

namespace {
using random_detail::Kind;
using random_detail::Params;

void fill_cpu(const Tensor& out, const Params& p) {
  DF_DISPATCH_ALL(out.dtype(), "random", [&] {
    scalar_t* d = static_cast<scalar_t*>(out.data_ptr());
    parallel_for(0, out.numel(), 4096, [&](int64_t b, int64_t e) {
      for (int64_t i = b; i < e; ++i)
        d[i] = random_detail::value<scalar_t>(p, static_cast<uint64_t>(i));
    });
  });
}

Tensor generate(const Shape& shape, DType dtype, Device device, Params p, Generator& gen) {
  Tensor out = Tensor::empty(shape, dtype, device);
  auto [seed, offset] = gen.reserve(static_cast<uint64_t>(out.numel()));
  p.seed = seed;
  p.offset = offset;
  if (out.numel() == 0) return out;
  if (device.is_cuda())
    random_detail::fill_cuda(out, p);
  else
    fill_cpu(out, p);
  return out;
}

void check_floating(DType dtype, const char* op) {
  DF_CHECK(is_floating(dtype), DTypeError, "[", op, "] dtype ", dtype_name(dtype),
           " is not supported (expected a floating type)");
}
}  // namespace

Tensor rand(const Shape& shape, Generator& gen, DType dtype, Device device) {
  check_floating(dtype, "rand");
  Params p;
  p.kind = Kind::uniform;
  return generate(shape, dtype, device, p, gen);
}
Tensor rand(const Shape& shape, DType dtype, Device device) {
  return rand(shape, default_generator(), dtype, device);
}

Tensor randn(const Shape& shape, Generator& gen, DType dtype, Device device) {
  check_floating(dtype, "randn");
  Params p;
  p.kind = Kind::normal;
  return generate(shape, dtype, device, p, gen);
}
Tensor randn(const Shape& shape, DType dtype, Device device) {
  return randn(shape, default_generator(), dtype, device);
}

Tensor bernoulli(const Shape& shape, double prob, Generator& gen, DType dtype, Device device) {
  DF_CHECK(prob >= 0.0 && prob <= 1.0, ConfigError, "[bernoulli] p must be in [0, 1], got ", prob);
  Params p;
  p.kind = Kind::bernoulli;
  p.p = prob;
  return generate(shape, dtype, device, p, gen);
}
Tensor bernoulli(const Shape& shape, double p, DType dtype, Device device) {
  return bernoulli(shape, p, default_generator(), dtype, device);
}

Tensor randint(int64_t low, int64_t high, const Shape& shape, Generator& gen, DType dtype,
               Device device) {
  DF_CHECK(high > low, ConfigError, "[randint] expected low < high, got low=", low, " high=", high);
  DF_CHECK(dtype != DType::b8, DTypeError,
           "[randint] dtype bool is not supported (expected a numeric type)");
  Params p;
  p.kind = Kind::randint;
  p.low = low;
  p.high = high;
  return generate(shape, dtype, device, p, gen);
}
Tensor randint(int64_t low, int64_t high, const Shape& shape, DType dtype, Device device) {
  return randint(low, high, shape, default_generator(), dtype, device);
}

Tensor randperm(int64_t n, Generator& gen, DType dtype, Device device) {
  DF_CHECK(n >= 0, ShapeError, "[randperm] n must be non-negative, got ", n);
  DF_CHECK(dtype == DType::i64 || dtype == DType::i32, DTypeError, "[randperm] dtype ",
           dtype_name(dtype), " is not supported (expected int32 or int64)");
  DF_CHECK(dtype == DType::i64 || n <= (int64_t(1) << 31), ShapeError, "[randperm] n=", n,
           " does not fit int32");
  auto [seed, offset] = gen.reserve(static_cast<uint64_t>(n));
  Tensor idx = Tensor::empty({n}, DType::i64, device);
  if (n > 0) {
    if (device.is_cuda()) {
      random_detail::randperm_cuda(idx, seed, offset);
    } else {
      std::vector<uint64_t> keys(static_cast<size_t>(n));
      parallel_for(0, n, 4096, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i)
          keys[i] = philox::bits64(philox::element_block(seed, offset, static_cast<uint64_t>(i)));
      });
      int64_t* d = idx.data<int64_t>();
      std::iota(d, d + n, int64_t(0));
      std::sort(d, d + n, [&](int64_t a, int64_t b) {
        return keys[a] != keys[b] ? keys[a] < keys[b] : a < b;
      });
    }
  }
  return dtype == DType::i64 ? idx : raw::to(idx, device, dtype);
}
Tensor randperm(int64_t n, DType dtype, Device device) {
  return randperm(n, default_generator(), dtype, device);
}

#ifndef DETFORGE_WITH_CUDA
namespace random_detail {
void fill_cuda(const Tensor&, const Params&) {
  throw DeviceError("[random] no CUDA implementation in this build");
}
void randperm_cuda(const Tensor&, uint64_t, uint64_t) {
  throw DeviceError("[randperm] no CUDA implementation in this build");
}
}  // namespace random_detail
#endif

}  // namespace detforge

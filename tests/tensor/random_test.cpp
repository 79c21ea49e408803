// Philox RNG: known-answer test, statistics, permutations, determinism, CUDA == CPU.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "tensor/philox.h"
#include "tensor/random.h"
#include "tests/test_util.h"

namespace detforge {
namespace {

TEST(Philox, KnownAnswer) {
  // Random123's kat_vectors: philox4x32-10, counter 0, key 0.
  philox::Block zero{{0, 0, 0, 0}};
  philox::Block r = philox::philox4x32_10(zero, 0, 0);
  EXPECT_EQ(r.w[0], 0x6627e8d5u);
  EXPECT_EQ(r.w[1], 0xe169c58du);
  EXPECT_EQ(r.w[2], 0xbc57ac4cu);
  EXPECT_EQ(r.w[3], 0x9b00dbd8u);
  // All-ones counter and key.
  philox::Block ones{{0xffffffffu, 0xffffffffu, 0xffffffffu, 0xffffffffu}};
  r = philox::philox4x32_10(ones, 0xffffffffu, 0xffffffffu);
  EXPECT_EQ(r.w[0], 0x408f276du);
  EXPECT_EQ(r.w[1], 0x41c83b0eu);
  EXPECT_EQ(r.w[2], 0xa20bc7c6u);
  EXPECT_EQ(r.w[3], 0x6d5451fdu);
  // Element 0 with seed 0, offset 0 is the zero-counter block.
  philox::Block e = philox::element_block(0, 0, 0);
  EXPECT_EQ(e.w[0], 0x6627e8d5u);
}

void moments(const Tensor& t, double* mean, double* var) {
  std::vector<double> v = t.to_vector<double>();
  double s = 0, s2 = 0;
  for (double x : v) s += x;
  *mean = s / v.size();
  for (double x : v) s2 += (x - *mean) * (x - *mean);
  *var = s2 / (v.size() - 1);
}

TEST(Random, UniformAndNormalStatistics) {
  Generator g(1234);
  const int64_t n = 100000;
  for (DType dt : {DType::f32, DType::f64, DType::f16, DType::bf16}) {
    Tensor u = rand({n}, g, dt);
    EXPECT_EQ(u.dtype(), dt);
    std::vector<double> v = u.to_vector<double>();
    EXPECT_GE(*std::min_element(v.begin(), v.end()), 0.0);
    EXPECT_LT(*std::max_element(v.begin(), v.end()), 1.0) << dtype_name(dt);
    double m, var;
    moments(u, &m, &var);
    double tol = (dt == DType::bf16) ? 0.01 : 0.005;
    EXPECT_NEAR(m, 0.5, tol) << dtype_name(dt);
    EXPECT_NEAR(var, 1.0 / 12, tol) << dtype_name(dt);
  }
  for (DType dt : {DType::f32, DType::f64}) {
    Tensor z = randn({n}, g, dt);
    double m, var;
    moments(z, &m, &var);
    EXPECT_NEAR(m, 0.0, 0.015) << dtype_name(dt);
    EXPECT_NEAR(var, 1.0, 0.02) << dtype_name(dt);
    std::vector<double> v = z.to_vector<double>();
    int64_t beyond2 = std::count_if(v.begin(), v.end(), [](double x) { return std::abs(x) > 2; });
    EXPECT_NEAR(static_cast<double>(beyond2) / n, 0.0455, 0.004);
  }
  Tensor b = bernoulli({n}, 0.3, g);
  double m, var;
  moments(b, &m, &var);
  EXPECT_NEAR(m, 0.3, 0.01);
  Tensor ri = randint(-3, 5, {n}, g);
  std::vector<int64_t> iv = ri.to_vector<int64_t>();
  EXPECT_EQ(*std::min_element(iv.begin(), iv.end()), -3);
  EXPECT_EQ(*std::max_element(iv.begin(), iv.end()), 4);
  moments(ri, &m, &var);
  EXPECT_NEAR(m, 0.5, 0.03);
}

TEST(Random, RandpermIsPermutation) {
  Generator g(7);
  for (int64_t n : {0, 1, 2, 17, 1000}) {
    Tensor p = randperm(n, g);
    EXPECT_EQ(p.shape(), (Shape{n}));
    std::vector<int64_t> v = p.to_vector<int64_t>();
    std::sort(v.begin(), v.end());
    for (int64_t i = 0; i < n; ++i) ASSERT_EQ(v[i], i);
  }
  Tensor p32 = randperm(50, g, DType::i32);
  EXPECT_EQ(p32.dtype(), DType::i32);
  Tensor a = randperm(1000, g);
  std::vector<int64_t> v = a.to_vector<int64_t>();
  int64_t fixed = 0;
  for (int64_t i = 0; i < 1000; ++i) fixed += v[i] == i;
  EXPECT_LT(fixed, 10);  // shuffled
  EXPECT_THROW(randperm(5, g, DType::f32), DTypeError);
}

TEST(Random, DeterministicPerSeedAndOffset) {
  Generator a(42), b(42), c(43);
  Tensor x1 = rand({1000}, a), y1 = rand({1000}, b), z1 = rand({1000}, c);
  EXPECT_EQ(x1.to_vector<float>(), y1.to_vector<float>());
  EXPECT_NE(x1.to_vector<float>(), z1.to_vector<float>());
  EXPECT_EQ(a.offset(), 1000u);
  // The next call continues the counter stream: equal to the tail of one bigger call.
  Tensor x2 = rand({500}, a);
  Generator d(42);
  Tensor big = rand({1500}, d);
  std::vector<float> bv = big.to_vector<float>();
  std::vector<float> x2v = x2.to_vector<float>();
  EXPECT_TRUE(std::equal(x2v.begin(), x2v.end(), bv.begin() + 1000));
  // Resetting seed or offset replays.
  a.manual_seed(42);
  EXPECT_EQ(rand({1000}, a).to_vector<float>(), x1.to_vector<float>());
  a.set_offset(1000);
  EXPECT_EQ(rand({500}, a).to_vector<float>(), x2v);
  // The default generator.
  manual_seed(5);
  Tensor d1 = randn({10});
  manual_seed(5);
  EXPECT_EQ(randn({10}).to_vector<float>(), d1.to_vector<float>());
  EXPECT_THROW(rand({3}, a, DType::i32), DTypeError);
  EXPECT_THROW(randint(3, 3, {2}, a), ConfigError);
  EXPECT_THROW(bernoulli({2}, 1.5, a), ConfigError);
}

TEST(Random, CudaMatchesCpu) {
  if (!cuda_available()) GTEST_SKIP() << test::skip_reason_no_cuda();
  Device dev = cuda_device(0);
  for (DType dt : {DType::f32, DType::f64, DType::f16, DType::bf16}) {
    Generator gc(99), gg(99);
    EXPECT_EQ(rand({4097}, gc, dt).to_vector<double>(),
              rand({4097}, gg, dt, dev).to_vector<double>());
    DF_EXPECT_CLOSE(randn({4097}, gg, dt, dev), randn({4097}, gc, dt), 1e-6);
  }
  Generator gc(3), gg(3);
  EXPECT_EQ(bernoulli({999}, 0.4, gc).to_vector<float>(),
            bernoulli({999}, 0.4, gg, DType::f32, dev).to_vector<float>());
  EXPECT_EQ(randint(-7, 100, {999}, gc).to_vector<int64_t>(),
            randint(-7, 100, {999}, gg, DType::i64, dev).to_vector<int64_t>());
  EXPECT_EQ(randperm(5000, gc).to_vector<int64_t>(),
            randperm(5000, gg, DType::i64, dev).to_vector<int64_t>());
  EXPECT_EQ(randperm(300, gc, DType::i32).to_vector<int32_t>(),
            randperm(300, gg, DType::i32, dev).to_vector<int32_t>());
}

}  // namespace
}  // namespace detforge

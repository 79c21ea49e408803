// dmath::exp_fast, exp_full, erf_fast, tanh_fast and log_fast (kernels/math.h): the branch-free
// float bodies that every vectorised CPU loop over exp / sigmoid / softmax / gelu / tanh / log
// uses. Checked against double-precision libm on a sweep through the float bit patterns, in a
// scalar call and in an `omp simd` loop (the form the kernels compile to), plus the range edges and
// NaN / inf.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

#include "kernels/math.h"

namespace detforge {
namespace {

// Every 4099th float bit pattern with |x| <= limit (about 250k values over both signs).
std::vector<float> sweep(float limit) {
  std::vector<float> v;
  for (uint64_t b = 1; b <= 0xFFFFFFFFull; b += 4099) {
    uint32_t u = static_cast<uint32_t>(b);
    float f;
    std::memcpy(&f, &u, 4);
    if (std::fabs(f) <= limit) v.push_back(f);
  }
  return v;
}

__attribute__((noinline)) void exp_loop(const float* x, float* y, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) y[i] = dmath::exp_fast(x[i]);
}
__attribute__((noinline)) void tanh_loop(const float* x, float* y, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) y[i] = dmath::tanh_fast(x[i]);
}
__attribute__((noinline)) void log_loop(const float* x, float* y, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) y[i] = dmath::log_fast(x[i]);
}
__attribute__((noinline)) void erf_loop(const float* x, float* y, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) y[i] = dmath::erf_fast(x[i]);
}

// The omp-simd `loop` and the scalar call against `ref` in double over x: each relative error
// must be <= bound (NaN fails). Returns the worst seen, so a caller can check that the sweep
// compared something inexact; stops at the first failure.
template <class Loop, class Scalar, class Ref>
double worst_relative_error(const std::vector<float>& x, Loop loop, Scalar scalar, Ref ref,
                            double bound, const char* name) {
  std::vector<float> y(x.size());
  loop(x.data(), y.data(), static_cast<int64_t>(x.size()));
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double r = ref(static_cast<double>(x[i]));
    const double rel_vec = std::fabs(y[i] - r) / std::fabs(r);
    const double rel_scalar = std::fabs(scalar(x[i]) - r) / std::fabs(r);
    if (!(rel_vec <= bound) || !(rel_scalar <= bound)) {
      ADD_FAILURE() << name << "(" << x[i] << ") = " << y[i] << " (scalar " << scalar(x[i])
                    << "), double: " << r << ", bound " << bound;
      return worst;
    }
    worst = std::max({worst, rel_vec, rel_scalar});
  }
  return worst;
}

TEST(MathFast, ExpRelativeErrorOverTheNormalRange) {
  std::vector<float> x;
  for (float v : sweep(88.3f))  // denormal results: the edges test below
    if (std::exp(static_cast<double>(v)) >= std::numeric_limits<float>::min()) x.push_back(v);
  ASSERT_GT(x.size(), 100000u);
  const double worst = worst_relative_error(
      x, exp_loop, [](float v) { return dmath::exp_fast(v); }, [](double v) { return std::exp(v); },
      4e-7, "exp_fast");
  EXPECT_GT(worst, 0.0);  // the sweep did compare something inexact
}

// exp_fast's range is cut short at both ends (kernels/math.h): the expectations below are its
// contract inside composite kernels; the exp op uses exp_full (next test).
TEST(MathFast, ExpRangeEdgesAndSpecials) {
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> x = {0.f,
                          -0.f,
                          1.f,
                          -1.f,
                          -88.f,
                          -88.5f,
                          -100.f,
                          -1e30f,
                          -inf,
                          88.4f,
                          88.73f,
                          100.f,
                          1e30f,
                          inf,
                          -87.5f,
                          88.3f,
                          std::numeric_limits<float>::quiet_NaN()};
  std::vector<float> y(x.size());
  exp_loop(x.data(), y.data(), static_cast<int64_t>(x.size()));
  for (size_t i = 0; i < x.size(); ++i)
    EXPECT_EQ(std::isnan(y[i]), std::isnan(dmath::exp_fast(x[i])));
  EXPECT_EQ(y[0], 1.f);
  EXPECT_EQ(y[1], 1.f);
  EXPECT_NEAR(y[2], std::exp(1.0), 4e-7 * std::exp(1.0));
  for (int i = 4; i <= 8; ++i) EXPECT_EQ(y[i], 0.f) << "exp_fast(" << x[i] << ")";   // x <= -88
  for (int i = 9; i <= 13; ++i) EXPECT_EQ(y[i], inf) << "exp_fast(" << x[i] << ")";  // x >= 88.38
  // -87.5: a denormal result (between 0 and the smallest normal), within a denormal's precision.
  EXPECT_GT(y[14], 0.f);
  EXPECT_LT(y[14], std::numeric_limits<float>::min());
  EXPECT_NEAR(y[14], std::exp(-87.5), 1e-44);
  const double e15 = std::exp(static_cast<double>(x[15]));
  EXPECT_NEAR(y[15], e15, 4e-7 * e15);
  EXPECT_TRUE(std::isnan(y[16]));
}

TEST(MathFast, ErfAbsoluteErrorAndSpecials) {
  std::vector<float> x = sweep(7.f);
  ASSERT_GT(x.size(), 100000u);
  std::vector<float> y(x.size());
  erf_loop(x.data(), y.data(), static_cast<int64_t>(x.size()));
  for (size_t i = 0; i < x.size(); ++i) {
    double ref = std::erf(static_cast<double>(x[i]));
    ASSERT_LE(std::fabs(y[i] - ref), 4e-7) << "erf_fast(" << x[i] << ") = " << y[i];
    ASSERT_LE(std::fabs(dmath::erf_fast(x[i]) - ref), 4e-7) << "scalar erf_fast(" << x[i] << ")";
    // relative near 0 (erf(x) ~ 1.128 x), down to the smallest normal float
    if (std::fabs(x[i]) < 1e-3f && std::fabs(x[i]) >= std::numeric_limits<float>::min())
      ASSERT_LE(std::fabs(y[i] - ref) / std::fabs(ref), 1e-6);
  }
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> s = {inf, -inf, 0.f, std::numeric_limits<float>::quiet_NaN()};
  std::vector<float> r(s.size());
  erf_loop(s.data(), r.data(), static_cast<int64_t>(s.size()));
  EXPECT_NEAR(r[0], 1.f, 1e-7);
  EXPECT_NEAR(r[1], -1.f, 1e-7);
  EXPECT_EQ(r[2], 0.f);
  EXPECT_TRUE(std::isnan(r[3]));
  EXPECT_TRUE(std::isnan(dmath::erf_fast(s[3])));
}

__attribute__((noinline)) void exp_full_loop(const float* x, float* y, int64_t n) {
#pragma omp simd
  for (int64_t i = 0; i < n; ++i) y[i] = dmath::exp_full(x[i]);
}

// exp_full has expf's range: relative error over normal results, denormal results within two
// denormal steps, overflow exactly where expf overflows (every float in [88.3, 88.8]).
TEST(MathFast, ExpFullRangeMatchesExpf) {
  std::vector<float> normal, tiny;
  for (float v : sweep(110.f))
    (std::exp(static_cast<double>(v)) >= std::numeric_limits<float>::min() ? normal : tiny)
        .push_back(v);
  for (float v = 88.3f; v < 88.8f; v = std::nextafter(v, 89.f)) normal.push_back(v);
  for (float v = -106.f; v < -87.34f; v += 1e-3f) tiny.push_back(v);  // denormal results
  std::vector<float> finite;
  for (float v : normal)
    if (std::isfinite(std::exp(v))) finite.push_back(v);
  ASSERT_GT(finite.size(), 100000u);
  EXPECT_GT(worst_relative_error(
                finite, exp_full_loop, [](float v) { return dmath::exp_full(v); },
                [](double v) { return std::exp(v); }, 4e-7, "exp_full"),
            0.0);
  std::vector<float> y(normal.size());
  exp_full_loop(normal.data(), y.data(), static_cast<int64_t>(normal.size()));
  for (size_t i = 0; i < normal.size(); ++i)
    ASSERT_EQ(std::isinf(y[i]), std::isinf(std::exp(normal[i]))) << "exp_full(" << normal[i] << ")";
  ASSERT_GT(tiny.size(), 10000u);
  std::vector<float> z(tiny.size());
  exp_full_loop(tiny.data(), z.data(), static_cast<int64_t>(tiny.size()));
  const double step = std::numeric_limits<float>::denorm_min();
  for (size_t i = 0; i < tiny.size(); ++i)
    ASSERT_LE(std::fabs(z[i] - std::exp(static_cast<double>(tiny[i]))), 2 * step)
        << "exp_full(" << tiny[i] << ") = " << z[i];
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> s = {0.f,  -0.f,  -104.f, -1e30f,
                          -inf, 1e30f, inf,    std::numeric_limits<float>::quiet_NaN()};
  std::vector<float> r(s.size());
  exp_full_loop(s.data(), r.data(), static_cast<int64_t>(s.size()));
  EXPECT_EQ(r[0], 1.f);
  EXPECT_EQ(r[1], 1.f);
  for (int i = 2; i <= 4; ++i) EXPECT_EQ(r[i], 0.f) << "exp_full(" << s[i] << ")";
  EXPECT_EQ(r[5], inf);
  EXPECT_EQ(r[6], inf);
  EXPECT_TRUE(std::isnan(r[7]));
}

// Relative error everywhere down to the smallest normal (tanh(x) ~ x there), both branches of the
// body and the threshold between them (0.55) included by the sweep.
TEST(MathFast, TanhRelativeErrorAndSpecials) {
  std::vector<float> x = sweep(12.f);
  for (float v : {0.55f, std::nextafter(0.55f, 0.f), -0.55f, 1e-20f, 9.f, 9.02f, 10.f, 10.5f})
    x.push_back(v);
  std::vector<float> normal;  // denormal inputs: below
  for (float v : x)
    if (std::fabs(v) >= std::numeric_limits<float>::min()) normal.push_back(v);
  ASSERT_GT(normal.size(), 100000u);
  EXPECT_GT(worst_relative_error(
                normal, tanh_loop, [](float v) { return dmath::tanh_fast(v); },
                [](double v) { return std::tanh(v); }, 3e-7, "tanh_fast"),
            0.0);
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> s = {0.f,   -0.f,   inf,    -inf,
                          100.f, -100.f, 1e-40f, std::numeric_limits<float>::quiet_NaN()};
  std::vector<float> r(s.size());
  tanh_loop(s.data(), r.data(), static_cast<int64_t>(s.size()));
  EXPECT_EQ(r[0], 0.f);
  EXPECT_FALSE(std::signbit(r[0]));
  EXPECT_EQ(r[1], 0.f);
  EXPECT_TRUE(std::signbit(r[1]));  // -0 keeps its sign, like tanhf
  EXPECT_EQ(r[2], 1.f);
  EXPECT_EQ(r[3], -1.f);
  EXPECT_EQ(r[4], 1.f);
  EXPECT_EQ(r[5], -1.f);
  EXPECT_NEAR(r[6], 1e-40f, 1e-45f);  // a denormal: tanh(x) = x
  EXPECT_TRUE(std::isnan(r[7]));
  EXPECT_TRUE(std::isnan(dmath::tanh_fast(s[7])));
}

// Every 4099th positive float bit pattern, denormals to the largest finite, plus the values next
// to 1 where log(x) ~ x - 1 is smallest.
TEST(MathFast, LogRelativeErrorAndSpecials) {
  std::vector<float> x;
  for (uint32_t b = 1; b < 0x7f800000u; b += 4099) {
    float f;
    std::memcpy(&f, &b, 4);
    x.push_back(f);
  }
  float up = 1.0f, down = 1.0f;
  for (int i = 0; i < 20000; ++i) {  // the 20,000 floats on each side of 1
    up = std::nextafter(up, 2.f);
    down = std::nextafter(down, 0.f);
    x.push_back(up);
    x.push_back(down);
  }
  EXPECT_GT(worst_relative_error(
                x, log_loop, [](float v) { return dmath::log_fast(v); },
                [](double v) { return std::log(v); }, 3e-7, "log_fast"),
            0.0);
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> s = {1.f,  0.f,  -0.f,    inf,
                          -inf, -1.f, -1e-40f, std::numeric_limits<float>::quiet_NaN()};
  std::vector<float> r(s.size());
  log_loop(s.data(), r.data(), static_cast<int64_t>(s.size()));
  EXPECT_EQ(r[0], 0.f);
  EXPECT_EQ(r[1], -inf);
  EXPECT_EQ(r[2], -inf);
  EXPECT_EQ(r[3], inf);
  for (int i = 4; i <= 7; ++i) EXPECT_TRUE(std::isnan(r[i])) << "log_fast(" << s[i] << ")";
  EXPECT_TRUE(std::isnan(dmath::log_fast(s[7])));
}

}  // namespace
}  // namespace detforge

// NaN propagation through the vectorised CPU row loops (amax/amin lanes, softmax's row max, sum
// over dim 0 four rows per pass), as PyTorch: a NaN anywhere in a row (in the 16-lane body or the
// tail) makes that row's amax / amin / softmax NaN and leaves the other rows alone.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "autograd/reduction.h"
#include "tests/test_util.h"

namespace detforge {
namespace {

Tensor rows_with_nans() {
  Tensor x = test::randn({4, 41}, DType::f32, 7);  // 41 = 2 x 16 lanes + a tail of 9
  float* p = static_cast<float*>(x.data_ptr());
  p[0 * 41 + 5] = std::numeric_limits<float>::quiet_NaN();   // lane body
  p[1 * 41 + 37] = std::numeric_limits<float>::quiet_NaN();  // tail
  return x;
}

TEST(ReduceNaN, AmaxAminPropagateFromBodyAndTail) {
  Tensor x = rows_with_nans();
  for (bool is_max : {true, false}) {
    Tensor r = is_max ? amax(x, {1}) : amin(x, {1});
    const float* v = static_cast<const float*>(r.data_ptr());
    EXPECT_TRUE(std::isnan(v[0]));
    EXPECT_TRUE(std::isnan(v[1]));
    EXPECT_FALSE(std::isnan(v[2]));
    EXPECT_FALSE(std::isnan(v[3]));
  }
}

TEST(ReduceNaN, SoftmaxRowWithNaNIsNaNOthersFinite) {
  Tensor y = softmax(rows_with_nans(), 1);
  const float* v = static_cast<const float*>(y.data_ptr());
  for (int r = 0; r < 4; ++r) {
    double s = 0;
    bool any_nan = false;
    for (int c = 0; c < 41; ++c) {
      any_nan |= std::isnan(v[r * 41 + c]);
      s += v[r * 41 + c];
    }
    if (r < 2) {
      EXPECT_TRUE(any_nan) << "row " << r;
    } else {
      EXPECT_FALSE(any_nan) << "row " << r;
      EXPECT_NEAR(s, 1.0, 1e-5) << "row " << r;
    }
  }
}

TEST(ReduceNaN, SumOverDim0MatchesDoubleReference) {
  // 11 rows: two passes of four plus a tail of three; 530 columns: one full block and a partial.
  Tensor x = test::randn({11, 530}, DType::f32, 9);
  Tensor s = sum(x, {0});
  const float* p = static_cast<const float*>(x.data_ptr());
  const float* v = static_cast<const float*>(s.data_ptr());
  for (int c = 0; c < 530; ++c) {
    double ref = 0;
    for (int r = 0; r < 11; ++r) ref += p[r * 530 + c];
    ASSERT_NEAR(v[c], ref, 1e-5 * (1 + std::fabs(ref))) << "column " << c;
  }
  float* q = static_cast<float*>(x.data_ptr());
  q[6 * 530 + 3] = std::numeric_limits<float>::quiet_NaN();
  Tensor s2 = sum(x, {0});
  EXPECT_TRUE(std::isnan(static_cast<const float*>(s2.data_ptr())[3]));
  EXPECT_FALSE(std::isnan(static_cast<const float*>(s2.data_ptr())[4]));
}

}  // namespace
}  // namespace detforge

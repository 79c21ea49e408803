// matmul / linear beyond the fixtures: errors, larger shapes through oneDNN's GEMM vs float64,
// transposed (non-contiguous) operands handed to the GEMM without a copy.
#include <gtest/gtest.h>

#include "autograd/linalg.h"
#include "tests/test_util.h"

namespace detforge {
namespace {

TEST(Matmul, LargeMatchesFloat64) {
  Tensor a = test::randn({3, 70, 130}, DType::f32, 1), b = test::randn({130, 90}, DType::f32, 2);
  Tensor want = matmul(a.to(DType::f64), b.to(DType::f64)).to(DType::f32);
  DF_EXPECT_CLOSE(matmul(a, b), want, 1e-5);
  // Transposed views: the GEMM takes them as 'T' operands.
  Tensor at = a.transpose(1, 2).contiguous().transpose(1, 2);
  Tensor bt = b.t().contiguous().t();
  DF_EXPECT_CLOSE(matmul(at, bt), want, 1e-5);
}

TEST(Matmul, BroadcastBatchWithGrad) {
  Tensor a = test::randn({2, 1, 4, 3}, DType::f32, 3).set_requires_grad(true);
  Tensor b = test::randn({5, 3, 2}, DType::f32, 4).set_requires_grad(true);
  Tensor y = matmul(a, b);
  EXPECT_EQ(y.shape(), (Shape{2, 5, 4, 2}));
  y.backward(Tensor::ones(y.shape()));
  EXPECT_EQ(a.grad().shape(), a.shape());
  EXPECT_EQ(b.grad().shape(), b.shape());
}

TEST(Matmul, Errors) {
  EXPECT_THROW(matmul(test::randn({3, 4}), test::randn({5, 2})), ShapeError);
  EXPECT_THROW(matmul(test::randn({3, 4}), test::randn({4, 2}, DType::f64)), DTypeError);
  EXPECT_THROW(matmul(Tensor::scalar(1.0), test::randn({2})), ShapeError);
  try {
    matmul(test::randn({3, 4}), test::randn({5, 2}));
  } catch (const ShapeError& e) {
    EXPECT_EQ(std::string(e.what()).rfind("[matmul]", 0), 0u) << e.what();
  }
  EXPECT_THROW(linear(test::randn({3, 4}), test::randn({5, 3})), ShapeError);
}

TEST(Matmul, EmptyInnerDimGivesZeros) {
  Tensor y = matmul(Tensor::empty({3, 0}), Tensor::empty({0, 2}));
  EXPECT_EQ(y.shape(), (Shape{3, 2}));
  for (float v : y.to_vector<float>()) EXPECT_EQ(v, 0.0f);
}

}  // namespace
}  // namespace detforge

namespace detforge {
namespace {

TEST(Matmul, HalfAndBFloat16GoThroughFloat) {
  Tensor a = test::randn({2, 5, 7}, DType::f32, 5), b = test::randn({7, 3}, DType::f32, 6);
  Tensor want = matmul(a, b);
  for (DType t : {DType::f16, DType::bf16}) {
    Tensor y = matmul(a.to(t), b.to(t));
    EXPECT_EQ(y.dtype(), t);
    DF_EXPECT_CLOSE(y.to(DType::f32), want, 2e-2);
  }
}

}  // namespace
}  // namespace detforge

// f16/bf16 paths of the elementwise and reduction kernels against the float32 result (the fixtures
// are float32 only). Relative L2 tolerance 1e-2.
#include <gtest/gtest.h>

#include <functional>

#include "autograd/elementwise.h"
#include "autograd/reduction.h"
#include "tests/test_util.h"

namespace detforge {
namespace {

using UFn = std::function<Tensor(const Tensor&)>;

void check_half(const char* what, const UFn& f, const Tensor& x) {
  Tensor ref = f(x);
  for (DType dt : {DType::f16, DType::bf16}) {
    Tensor got = f(x.to(dt));
    EXPECT_EQ(got.dtype(), dt) << what;
    // compare the reduced-precision result against float computed on the rounded input
    Tensor ref_r = f(x.to(dt).to(DType::f32));
    std::string m = test::compare(got.to(DType::f32), ref_r, 1e-2);
    EXPECT_TRUE(m.empty()) << what << " " << dtype_name(dt) << ": " << m;
    (void)ref;
  }
}

TEST(ElementwiseHalf, UnaryAndBinaryMatchFloat) {
  Tensor x = test::randn({37, 19}, DType::f32, 1);
  Tensor y = test::randn({19}, DType::f32, 2);
  check_half(
      "exp", [](const Tensor& t) { return exp(t); }, x);
  check_half(
      "sigmoid", [](const Tensor& t) { return sigmoid(t); }, x);
  check_half(
      "tanh", [](const Tensor& t) { return tanh(t); }, x);
  check_half(
      "gelu", [](const Tensor& t) { return gelu(t); }, x);
  check_half(
      "gelu_tanh", [](const Tensor& t) { return gelu(t, "tanh"); }, x);
  check_half(
      "silu", [](const Tensor& t) { return silu(t); }, x);
  check_half(
      "hardswish", [](const Tensor& t) { return hardswish(t); }, x);
  check_half(
      "relu", [](const Tensor& t) { return relu(t); }, x);
  check_half(
      "abs", [](const Tensor& t) { return abs(t); }, x);
  check_half(
      "clamp", [](const Tensor& t) { return clamp(t, -0.5, 0.7); }, x);
  check_half(
      "add", [&](const Tensor& t) { return add(t, y.to(t.dtype()), 0.5); }, x);
  check_half(
      "mul", [&](const Tensor& t) { return mul(t, y.to(t.dtype())); }, x);
  check_half(
      "maximum", [&](const Tensor& t) { return maximum(t, y.to(t.dtype())); }, x);
  check_half(
      "where", [&](const Tensor& t) { return where(gt(t, y.to(t.dtype())), t, y.to(t.dtype())); },
      x);
}

TEST(ReductionHalf, ReductionsMatchFloat) {
  Tensor x = test::randn({23, 41}, DType::f32, 3);
  check_half(
      "sum_last", [](const Tensor& t) { return sum(t, {-1}); }, x);
  check_half(
      "sum_dim0", [](const Tensor& t) { return sum(t, {0}); }, x);
  check_half(
      "mean", [](const Tensor& t) { return mean(t, {1}, true); }, x);
  check_half(
      "var", [](const Tensor& t) { return var(t, {0}); }, x);
  check_half(
      "std", [](const Tensor& t) { return std(t, {1}); }, x);
  check_half(
      "amax", [](const Tensor& t) { return amax(t, {1}); }, x);
  check_half(
      "max", [](const Tensor& t) { return max(t, 0).first; }, x);
  check_half(
      "logsumexp", [](const Tensor& t) { return logsumexp(t, {1}); }, x);
  check_half(
      "norm", [](const Tensor& t) { return norm(t, 2, {1}); }, x);
  check_half(
      "softmax", [](const Tensor& t) { return softmax(t, -1); }, x);
  check_half(
      "softmax_dim0", [](const Tensor& t) { return softmax(t, 0); }, x);
  check_half(
      "log_softmax", [](const Tensor& t) { return log_softmax(t, 1); }, x);
}

TEST(Reduction, LargeSumsStayAccurate) {
  // long rows and the column path: double accumulation keeps float sums within 1e-6
  Tensor x = test::randn({300, 5000}, DType::f32, 4);
  Tensor x64 = x.to(DType::f64);
  DF_EXPECT_CLOSE(sum(x, {1}).to(DType::f64), sum(x64, {1}), 1e-6);
  DF_EXPECT_CLOSE(sum(x, {0}).to(DType::f64), sum(x64, {0}), 1e-6);
  DF_EXPECT_CLOSE(sum(x).to(DType::f64), sum(x64), 1e-6);
  DF_EXPECT_CLOSE(var(x, {0}).to(DType::f64), var(x64, {0}), 1e-6);
  DF_EXPECT_CLOSE(softmax(x, 1).to(DType::f64), softmax(x64, 1), 1e-6);
}

TEST(Reduction, ErrorsNameTheOp) {
  Tensor x = Tensor::zeros({3, 0});
  try {
    amax(x, {1});
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("[amax]"), std::string::npos) << e.what();
  }
  EXPECT_THROW(norm(Tensor::ones({3}), 3), Error);
}

}  // namespace
}  // namespace detforge

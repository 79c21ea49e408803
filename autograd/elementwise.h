// Differentiable elementwise ops with broadcasting and PyTorch's type promotion.
#pragma once
#include <optional>

#include "tensor/tensor.h"

namespace detforge {

// The dtype PyTorch's result_type gives: dimensioned operands outrank 0-dim ones within a category
// (bool < integral < floating).
DETFORGE_API DType result_type(const Tensor& a, const Tensor& b);

DETFORGE_API Tensor add(const Tensor& a, const Tensor& b, double alpha = 1.0);
DETFORGE_API Tensor sub(const Tensor& a, const Tensor& b, double alpha = 1.0);
DETFORGE_API Tensor mul(const Tensor& a, const Tensor& b);
DETFORGE_API Tensor div(const Tensor& a, const Tensor& b);
// rounding_mode: "none" (true division), "trunc" or "floor" (integer dtypes stay integral; zero
// gradient).
DETFORGE_API Tensor div(const Tensor& a, const Tensor& b, const std::string& rounding_mode);
DETFORGE_API Tensor pow(const Tensor& a, const Tensor& b);
DETFORGE_API Tensor minimum(const Tensor& a, const Tensor& b);
DETFORGE_API Tensor maximum(const Tensor& a, const Tensor& b);
DETFORGE_API Tensor add(const Tensor& a, double b);
DETFORGE_API Tensor sub(const Tensor& a, double b);
DETFORGE_API Tensor mul(const Tensor& a, double b);
DETFORGE_API Tensor div(const Tensor& a, double b);
DETFORGE_API Tensor pow(const Tensor& a, double exponent);
DETFORGE_API Tensor pow(double base, const Tensor& exponent);

DETFORGE_API Tensor neg(const Tensor& x);
DETFORGE_API Tensor abs(const Tensor& x);
DETFORGE_API Tensor sign(const Tensor& x);
DETFORGE_API Tensor exp(const Tensor& x);
DETFORGE_API Tensor log(const Tensor& x);
DETFORGE_API Tensor sqrt(const Tensor& x);
DETFORGE_API Tensor rsqrt(const Tensor& x);
DETFORGE_API Tensor square(const Tensor& x);
DETFORGE_API Tensor reciprocal(const Tensor& x);
DETFORGE_API Tensor clamp(const Tensor& x, std::optional<double> min, std::optional<double> max);
DETFORGE_API Tensor relu(const Tensor& x);
DETFORGE_API Tensor relu6(const Tensor& x);
DETFORGE_API Tensor leaky_relu(const Tensor& x, double negative_slope = 0.01);
DETFORGE_API Tensor sigmoid(const Tensor& x);
DETFORGE_API Tensor tanh(const Tensor& x);
DETFORGE_API Tensor silu(const Tensor& x);
DETFORGE_API Tensor hardswish(const Tensor& x);
DETFORGE_API Tensor gelu(const Tensor& x, const std::string& approximate = "none");

DETFORGE_API Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
DETFORGE_API Tensor eq(const Tensor& a, const Tensor& b);
DETFORGE_API Tensor ne(const Tensor& a, const Tensor& b);
DETFORGE_API Tensor lt(const Tensor& a, const Tensor& b);
DETFORGE_API Tensor le(const Tensor& a, const Tensor& b);
DETFORGE_API Tensor gt(const Tensor& a, const Tensor& b);
DETFORGE_API Tensor ge(const Tensor& a, const Tensor& b);

inline Tensor operator+(const Tensor& a, const Tensor& b) {
  return add(a, b);
}
inline Tensor operator-(const Tensor& a, const Tensor& b) {
  return sub(a, b);
}
inline Tensor operator*(const Tensor& a, const Tensor& b) {
  return mul(a, b);
}
inline Tensor operator/(const Tensor& a, const Tensor& b) {
  return div(a, b);
}
inline Tensor operator-(const Tensor& a) {
  return neg(a);
}
inline Tensor operator+(const Tensor& a, double b) {
  return add(a, b);
}
inline Tensor operator-(const Tensor& a, double b) {
  return sub(a, b);
}
inline Tensor operator*(const Tensor& a, double b) {
  return mul(a, b);
}
inline Tensor operator/(const Tensor& a, double b) {
  return div(a, b);
}
inline Tensor operator*(double a, const Tensor& b) {
  return mul(b, a);
}
inline Tensor operator+(double a, const Tensor& b) {
  return add(b, a);
}

}  // namespace detforge

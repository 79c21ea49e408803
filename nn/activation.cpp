#include "nn/activation.h"

#include "autograd/elementwise.h"

namespace detforge::nn {

Tensor hardsigmoid(const Tensor& x) {
  return div(relu6(add(x, 3.0)), 6.0);
}

Tensor ReLU::forward(const Tensor& x) {
  return relu(x);
}
Tensor ReLU6::forward(const Tensor& x) {
  return relu6(x);
}
Tensor SiLU::forward(const Tensor& x) {
  return silu(x);
}
Tensor Hardswish::forward(const Tensor& x) {
  return hardswish(x);
}
Tensor Hardsigmoid::forward(const Tensor& x) {
  return hardsigmoid(x);
}
Tensor Sigmoid::forward(const Tensor& x) {
  return sigmoid(x);
}
Tensor Identity::forward(const Tensor& x) {
  return x;
}

}  // namespace detforge::nn

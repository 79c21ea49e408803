#include "nn/squeeze_excitation.h"

#include "autograd/elementwise.h"
#include "autograd/norm_pool.h"
#include "nn/activation.h"
#include "nn/conv.h"

namespace detforge::nn {

SqueezeExcitation::SqueezeExcitation(int64_t in, int64_t squeeze, bool hard) : hard_(hard) {
  register_module("fc1", std::make_shared<Conv2d>(in, squeeze, 1));
  register_module("fc2", std::make_shared<Conv2d>(squeeze, in, 1));
}

Tensor SqueezeExcitation::forward(const Tensor& x) {
  Tensor s = adaptive_avg_pool2d(x, {1, 1});
  s = relu(child("fc1").forward(s));
  s = child("fc2").forward(s);
  s = hard_ ? hardsigmoid(s) : sigmoid(s);
  return mul(s, x);
}

}  // namespace detforge::nn

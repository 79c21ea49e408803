#include "nn/dropout.h"

#include "autograd/elementwise.h"
#include "tensor/error.h"

namespace detforge::nn {

Dropout::Dropout(double p, Generator* gen) : p_(p), gen_(gen ? gen : &default_generator()) {
  DF_CHECK(p >= 0.0 && p <= 1.0, ConfigError, "[nn.Dropout] p must be in [0, 1], got ", p);
}

Tensor Dropout::forward(const Tensor& x) {
  if (!is_training() || p_ == 0.0) return x;
  if (p_ == 1.0) return mul(x, Tensor::zeros({}, x.dtype(), x.device()));
  Tensor mask = bernoulli(x.shape(), 1.0 - p_, *gen_, x.dtype(), x.device());
  return mul(x, mul(mask, 1.0 / (1.0 - p_)));
}

}  // namespace detforge::nn

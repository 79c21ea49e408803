#include "nn/linear.h"

#include "autograd/linalg.h"
#include "nn/init.h"
#include "tensor/error.h"

namespace detforge::nn {

Linear::Linear(int64_t in, int64_t out, bool bias) : in_(in), out_(out), bias_(bias) {
  DF_CHECK(in > 0 && out > 0, ConfigError, "[nn.Linear] features must be positive, got in ", in,
           ", out ", out);
  Tensor w = Tensor::empty({out, in});
  Tensor b = bias ? Tensor::empty({out}) : Tensor();
  init::default_layer_init(w, b);
  register_parameter("weight", w);
  if (bias) register_parameter("bias", b);
}

Tensor Linear::forward(const Tensor& x) {
  return linear(x, param("weight"), bias_ ? param("bias") : Tensor());
}

}  // namespace detforge::nn

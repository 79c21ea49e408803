#include "nn/conv_transpose.h"

#include "autograd/conv_transpose.h"
#include "nn/init.h"
#include "tensor/error.h"

namespace detforge::nn {

ConvTranspose2d::ConvTranspose2d(int64_t in, int64_t out, int64_t k, int64_t stride,
                                 int64_t padding, int64_t output_padding, int64_t groups, bool bias,
                                 int64_t dilation)
    : stride_(stride),
      padding_(padding),
      output_padding_(output_padding),
      groups_(groups),
      dilation_(dilation),
      bias_(bias) {
  DF_CHECK(in > 0 && out > 0 && k > 0 && groups > 0 && in % groups == 0 && out % groups == 0,
           ConfigError, "[nn.ConvTranspose2d] in_channels ", in, ", out_channels ", out,
           " and kernel_size ", k, " must be positive, channels divisible by groups ", groups);
  Tensor w = Tensor::empty({in, out / groups, k, k});
  Tensor b = bias ? Tensor::empty({out}) : Tensor();
  init::default_layer_init(w, b);
  register_parameter("weight", w);
  if (bias) register_parameter("bias", b);
}

Tensor ConvTranspose2d::forward(const Tensor& x) {
  return conv_transpose2d(x, param("weight"), bias_ ? param("bias") : Tensor(), {stride_},
                          {padding_}, {output_padding_}, groups_, {dilation_});
}

}  // namespace detforge::nn

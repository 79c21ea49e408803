#include "autograd/conv.h"

#include "autograd/function.h"
#include "tensor/view_ops.h"

namespace detforge {
using kernels::Conv2dParams;
namespace {

void pair_attr(const char* name, const std::vector<int64_t>& v, int64_t out[2], int64_t min) {
  DF_CHECK(v.size() == 1 || v.size() == 2, ConfigError, "[conv2d] ", name,
           " takes one or two values, got ", v.size());
  out[0] = v[0];
  out[1] = v.size() == 2 ? v[1] : v[0];
  DF_CHECK(out[0] >= min && out[1] >= min, ConfigError, "[conv2d] ", name, " must be >= ", min,
           ", got ", out[0], ",", out[1]);
}

Tensor conv2d_batched(const Tensor& input, const Tensor& weight, const Tensor& bias,
                      const Conv2dParams& p) {
  const Shape& in = input.shape();
  const Shape& w = weight.shape();
  DF_CHECK(in[1] == w[1] * p.groups, ShapeError, "[conv2d] input ", shape_str(in), " has ", in[1],
           " channels but weight ", shape_str(w), " with groups=", p.groups, " expects ",
           w[1] * p.groups);
  DF_CHECK(w[0] % p.groups == 0, ShapeError, "[conv2d] out channels ", w[0],
           " not divisible by groups ", p.groups);
  int64_t OH = kernels::conv_out_size(in[2], w[2], p.stride[0], p.padding[0], p.dilation[0]);
  int64_t OW = kernels::conv_out_size(in[3], w[3], p.stride[1], p.padding[1], p.dilation[1]);
  DF_CHECK(OH > 0 && OW > 0, ShapeError, "[conv2d] input ", shape_str(in), " with kernel ", w[2],
           "x", w[3], " gives an output of ", OH, "x", OW, " (too small)");
  Tensor x = raw::contiguous(input.detach()), wt = raw::contiguous(weight.detach());
  Tensor b = bias.defined() ? raw::contiguous(bias.detach()) : Tensor();
  Tensor out = Tensor::empty({in[0], w[0], OH, OW}, input.dtype(), input.device());
  kernels::conv2d_fwd_stub(input.device(), "conv2d")(out, x, wt, b, p);
  std::vector<Tensor> inputs{input, weight};
  if (bias.defined()) inputs.push_back(bias);
  if (needs_grad(inputs))
    record("conv2d", inputs, {out}, [x, wt, p, has_bias = bias.defined()](auto& g, auto& needs) {
      Tensor go = raw::contiguous(g[0]);
      std::vector<Tensor> r(has_bias ? 3 : 2);
      if (needs[0]) r[0] = conv2d_backward_input(go, wt, x.shape(), p);
      if (needs[1] || (has_bias && needs[2])) {
        auto [gw, gb] = conv2d_backward_weight(go, x, wt.shape(), has_bias && needs[2], p);
        if (needs[1]) r[1] = gw;
        if (has_bias && needs[2]) r[2] = gb;
      }
      return r;
    });
  return out;
}

}  // namespace

Tensor conv2d_backward_input(const Tensor& grad_output, const Tensor& weight,
                             const Shape& input_shape, const Conv2dParams& p) {
  Tensor gi = Tensor::empty(input_shape, grad_output.dtype(), grad_output.device());
  kernels::conv2d_bwd_data_stub(grad_output.device(), "conv2d_backward_input")(
      gi, raw::contiguous(grad_output), raw::contiguous(weight), p);
  return gi;
}

std::pair<Tensor, Tensor> conv2d_backward_weight(const Tensor& grad_output, const Tensor& input,
                                                 const Shape& weight_shape, bool with_bias,
                                                 const Conv2dParams& p) {
  Tensor gw = Tensor::empty(weight_shape, grad_output.dtype(), grad_output.device());
  Tensor gb = with_bias
                  ? Tensor::empty({weight_shape[0]}, grad_output.dtype(), grad_output.device())
                  : Tensor();
  kernels::conv2d_bwd_weight_stub(grad_output.device(), "conv2d_backward_weight")(
      gw, gb, raw::contiguous(grad_output), raw::contiguous(input), p);
  return {gw, gb};
}

Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias,
              std::vector<int64_t> stride, std::vector<int64_t> padding,
              std::vector<int64_t> dilation, int64_t groups) {
  DF_CHECK(input.defined() && weight.defined(), Error, "[conv2d] undefined input or weight");
  DF_CHECK(input.dim() == 3 || input.dim() == 4, ShapeError,
           "[conv2d] expected a 3-D or 4-D input (NCHW), got ", shape_str(input.shape()));
  DF_CHECK(weight.dim() == 4, ShapeError, "[conv2d] expected a 4-D weight (OIHW), got ",
           shape_str(weight.shape()));
  DF_CHECK(is_floating(input.dtype()), DTypeError, "[conv2d] dtype ", dtype_name(input.dtype()),
           " is not supported (expected a floating type)");
  DF_CHECK(input.dtype() == weight.dtype(), DTypeError, "[conv2d] input dtype ",
           dtype_name(input.dtype()), " differs from weight dtype ", dtype_name(weight.dtype()));
  DF_CHECK(input.device() == weight.device(), DeviceError, "[conv2d] input on ",
           input.device().str(), " but weight on ", weight.device().str());
  if (bias.defined()) {
    DF_CHECK(bias.dim() == 1 && bias.size(0) == weight.size(0), ShapeError, "[conv2d] bias ",
             shape_str(bias.shape()), " does not match weight ", shape_str(weight.shape()));
    DF_CHECK(bias.dtype() == input.dtype() && bias.device() == input.device(), DTypeError,
             "[conv2d] bias must have the input's dtype and device (", dtype_name(bias.dtype()),
             " on ", bias.device().str(), ")");
  }
  Conv2dParams p;
  pair_attr("stride", stride, p.stride, 1);
  pair_attr("padding", padding, p.padding, 0);
  pair_attr("dilation", dilation, p.dilation, 1);
  DF_CHECK(groups >= 1, ConfigError, "[conv2d] groups must be >= 1, got ", groups);
  p.groups = groups;
  if (input.dim() == 3) return conv2d_batched(input.unsqueeze(0), weight, bias, p).squeeze(0);
  return conv2d_batched(input, weight, bias, p);
}

}  // namespace detforge

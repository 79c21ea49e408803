#include "autograd/conv_transpose.h"

#include "autograd/conv.h"
#include "autograd/elementwise.h"
#include "autograd/function.h"
#include "tensor/error.h"
#include "tensor/view_ops.h"

namespace detforge {
namespace {

void pair_attr(const char* name, const std::vector<int64_t>& v, int64_t out[2], int64_t min) {
  DF_CHECK(v.size() == 1 || v.size() == 2, ConfigError, "[conv_transpose2d] ", name,
           " takes one or two values, got ", v.size());
  out[0] = v[0];
  out[1] = v.size() == 2 ? v[1] : v[0];
  DF_CHECK(out[0] >= min && out[1] >= min, ConfigError, "[conv_transpose2d] ", name,
           " must be >= ", min, ", got ", out[0], ",", out[1]);
}

}  // namespace

Tensor conv_transpose2d(const Tensor& input, const Tensor& weight, const Tensor& bias,
                        std::vector<int64_t> stride, std::vector<int64_t> padding,
                        std::vector<int64_t> output_padding, int64_t groups,
                        std::vector<int64_t> dilation) {
  DF_CHECK(input.defined() && weight.defined(), Error,
           "[conv_transpose2d] undefined input or weight");
  if (input.dim() == 3)  // unbatched CHW, as PyTorch
    return conv_transpose2d(input.unsqueeze(0), weight, bias, stride, padding, output_padding,
                            groups, dilation)
        .squeeze(0);
  DF_CHECK(input.dim() == 4 && weight.dim() == 4, ShapeError,
           "[conv_transpose2d] expected a 3-D (CHW) or 4-D (NCHW) input and a 4-D weight, got ",
           shape_str(input.shape()), " and ", shape_str(weight.shape()));
  DF_CHECK(is_floating(input.dtype()) && input.dtype() == weight.dtype(), DTypeError,
           "[conv_transpose2d] input ", dtype_name(input.dtype()), " and weight ",
           dtype_name(weight.dtype()), " must share one floating dtype");
  DF_CHECK(input.device() == weight.device(), DeviceError, "[conv_transpose2d] input on ",
           input.device().str(), " but weight on ", weight.device().str());
  DF_CHECK(groups >= 1 && weight.size(0) % groups == 0 && input.size(1) == weight.size(0),
           ShapeError, "[conv_transpose2d] input ", shape_str(input.shape()), " and weight ",
           shape_str(weight.shape()), " with groups=", groups,
           ": input channels must equal weight.size(0), divisible by groups");
  kernels::Conv2dParams p;
  int64_t op[2];
  pair_attr("stride", stride, p.stride, 1);
  pair_attr("padding", padding, p.padding, 0);
  pair_attr("dilation", dilation, p.dilation, 1);
  pair_attr("output_padding", output_padding, op, 0);
  p.groups = groups;
  DF_CHECK(
      op[0] < std::max(p.stride[0], p.dilation[0]) && op[1] < std::max(p.stride[1], p.dilation[1]),
      ConfigError, "[conv_transpose2d] output_padding ", op[0], ",", op[1],
      " must be smaller than stride or dilation");
  const int64_t n = input.size(0), cout = weight.size(1) * groups;
  int64_t oh = (input.size(2) - 1) * p.stride[0] - 2 * p.padding[0] +
               p.dilation[0] * (weight.size(2) - 1) + op[0] + 1;
  int64_t ow = (input.size(3) - 1) * p.stride[1] - 2 * p.padding[1] +
               p.dilation[1] * (weight.size(3) - 1) + op[1] + 1;
  DF_CHECK(oh > 0 && ow > 0, ShapeError, "[conv_transpose2d] input ", shape_str(input.shape()),
           " with weight ", shape_str(weight.shape()), " gives an output of ", oh, "x", ow);
  if (bias.defined())
    DF_CHECK(bias.dim() == 1 && bias.size(0) == cout, ShapeError, "[conv_transpose2d] bias ",
             shape_str(bias.shape()), " must be [", cout, "]");
  Tensor x = raw::contiguous(input.detach()), w = raw::contiguous(weight.detach());
  // y = conv2d^T(x): conv2d's gradient with respect to its input, for a conv2d [N, cout, oh, ow]
  // -> [N, cin, h, w] with this weight.
  Tensor out = conv2d_backward_input(x, w, {n, cout, oh, ow}, p);
  if (needs_grad({input, weight}))
    record("conv_transpose2d", {input, weight}, {out}, [x, w, p](auto& g, auto& needs) {
      Tensor go = raw::contiguous(g[0]);
      std::vector<Tensor> r(2);
      if (needs[0])
        r[0] = conv2d(go, w, Tensor(), {p.stride[0], p.stride[1]}, {p.padding[0], p.padding[1]},
                      {p.dilation[0], p.dilation[1]}, p.groups);
      // <g, conv2d^T(x, w)> = <conv2d(g, w), x>: the weight gradient of a conv2d whose input is g
      // and whose output gradient is x.
      if (needs[1]) r[1] = conv2d_backward_weight(x, go, w.shape(), false, p).first;
      return r;
    });
  if (bias.defined()) out = add(out, bias.view({1, cout, 1, 1}));
  return out;
}

}  // namespace detforge

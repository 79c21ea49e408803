#include "nn/conv.h"

#include "autograd/conv.h"
#include "autograd/elementwise.h"
#include "autograd/reduction.h"
#include "nn/init.h"
#include "tensor/error.h"

namespace detforge::nn {

namespace {
int64_t pick(const Shape& s, size_t i) {
  return s.size() == 1 ? s[0] : s.at(i);
}
}  // namespace

Conv2d::Conv2d(const Conv2dOptions& o) : opt_(o) {
  DF_CHECK(o.in_channels > 0 && o.out_channels > 0 && o.groups > 0 &&
               o.in_channels % o.groups == 0 && o.out_channels % o.groups == 0,
           ConfigError, "[nn.Conv2d] in_channels ", o.in_channels, " and out_channels ",
           o.out_channels, " must be positive and divisible by groups ", o.groups);
  DF_CHECK(!o.kernel_size.empty() && o.kernel_size.size() <= 2, ConfigError,
           "[nn.Conv2d] kernel_size needs one or two values, got ", shape_str(o.kernel_size));
  Tensor w = Tensor::empty(
      {o.out_channels, o.in_channels / o.groups, pick(o.kernel_size, 0), pick(o.kernel_size, 1)});
  Tensor b = o.bias ? Tensor::empty({o.out_channels}) : Tensor();
  init::default_layer_init(w, b);
  register_parameter("weight", w);
  if (o.bias) register_parameter("bias", b);
}

Conv2d::Conv2d(int64_t in, int64_t out, int64_t k, int64_t stride, int64_t padding,
               int64_t dilation, int64_t groups, bool bias)
    : Conv2d(Conv2dOptions{in, out, {k}, {stride}, {padding}, {dilation}, groups, bias}) {}

Tensor Conv2d::forward(const Tensor& x) {
  return conv2d(x, effective_weight(), opt_.bias ? param("bias") : Tensor(), opt_.stride,
                opt_.padding, opt_.dilation, opt_.groups);
}

Tensor standardize_weight(const Tensor& w, double eps) {
  DF_CHECK(w.dim() >= 2, ShapeError, "[nn.WSConv2d] weight must have >= 2 dims, got ",
           shape_str(w.shape()));
  int64_t n = w.numel() / w.size(0);
  DF_CHECK(n > 1, ShapeError,
           "[nn.WSConv2d] the unbiased std needs > 1 element per output channel, ", "weight ",
           shape_str(w.shape()));
  Shape dims;
  for (int64_t d = 1; d < w.dim(); ++d) dims.push_back(d);
  Tensor centered = sub(w, mean(w, dims, true));
  Tensor std = sqrt(div(sum(square(centered), dims, true), static_cast<double>(n - 1)));
  return div(centered, add(std, eps));
}

WSConv2d::WSConv2d(const Conv2dOptions& o, double eps)
    : Cloneable<WSConv2d, Conv2d>(o), eps_(eps) {}

Tensor WSConv2d::effective_weight() const {
  return standardize_weight(param("weight"), eps_);
}

}  // namespace detforge::nn

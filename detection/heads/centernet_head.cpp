#include "detection/heads/centernet_head.h"

#include "nn/activation.h"
#include "nn/conv.h"
#include "nn/conv_transpose.h"
#include "nn/init.h"
#include "nn/norm.h"
#include "tensor/error.h"

namespace detforge::detection {
namespace {

std::shared_ptr<nn::Sequential> branch(int64_t in, int64_t mid, int64_t out) {
  auto s = std::make_shared<nn::Sequential>();
  auto c1 = s->push_back(std::make_shared<nn::Conv2d>(in, mid, 3, 1, 1));
  s->push_back(std::make_shared<nn::ReLU>());
  auto c2 = s->push_back(std::make_shared<nn::Conv2d>(mid, out, 1));
  for (auto* c : {c1.get(), c2.get()}) {
    nn::init::normal_(c->param("weight"), 0.0, 0.001);
    nn::init::constant_(c->param("bias"), 0.0);
  }
  return s;
}

}  // namespace

CenterNetHead::CenterNetHead(const CenterNetHeadOptions& o) : opt_(o) {
  DF_CHECK(o.in_channels > 0 && o.num_classes > 0 && o.head_conv > 0, ConfigError,
           "[detection.CenterNetHead] in_channels ", o.in_channels, ", num_classes ", o.num_classes,
           " and head_conv ", o.head_conv, " must be positive");
  auto up = register_module("deconv_layers", std::make_shared<nn::Sequential>());
  int64_t c = o.in_channels;
  for (int64_t out : o.deconv_channels) {
    DF_CHECK(out > 0, ConfigError, "[detection.CenterNetHead] deconv channels must be > 0, got ",
             out);
    auto d = up->push_back(std::make_shared<nn::ConvTranspose2d>(c, out, 4, 2, 1, 0, 1, false));
    nn::init::normal_(d->param("weight"), 0.0, 0.001);
    up->push_back(std::make_shared<nn::BatchNorm2d>(out));
    up->push_back(std::make_shared<nn::ReLU>());
    c = out;
  }
  register_module("hm", branch(c, o.head_conv, o.num_classes));
  register_module("wh", branch(c, o.head_conv, 2));
  register_module("reg", branch(c, o.head_conv, 2));
  nn::init::constant_(child<nn::Sequential>("hm")[2].param("bias"), o.heatmap_bias);
}

CenterNetOutput CenterNetHead::predict(const Tensor& x) {
  DF_CHECK(x.dim() == 4 && x.size(1) == opt_.in_channels, ShapeError,
           "[detection.CenterNetHead] input ", shape_str(x.shape()), " must be [B, ",
           opt_.in_channels, ", H, W]");
  Tensor f = opt_.deconv_channels.empty() ? x : child("deconv_layers").forward(x);
  return {child("hm").forward(f), child("wh").forward(f), child("reg").forward(f)};
}

}  // namespace detforge::detection

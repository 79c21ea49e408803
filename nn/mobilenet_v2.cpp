#include "nn/mobilenet_v2.h"

#include <algorithm>

#include "autograd/elementwise.h"
#include "autograd/norm_pool.h"
#include "nn/activation.h"
#include "nn/conv.h"
#include "nn/dropout.h"
#include "nn/init.h"
#include "nn/linear.h"
#include "nn/norm.h"
#include "tensor/error.h"

namespace detforge::nn {

int64_t make_divisible(double v, int64_t divisor, int64_t min_value) {
  if (min_value <= 0) min_value = divisor;
  int64_t nv =
      std::max<int64_t>(min_value, static_cast<int64_t>(v + divisor / 2.0) / divisor * divisor);
  if (static_cast<double>(nv) < 0.9 * v) nv += divisor;
  return nv;
}

std::shared_ptr<Sequential> conv_bn_act(int64_t in, int64_t out, int64_t k, int64_t stride,
                                        int64_t groups, bool act) {
  auto s = std::make_shared<Sequential>();
  s->push_back(std::make_shared<Conv2d>(in, out, k, stride, (k - 1) / 2, 1, groups, false));
  s->push_back(std::make_shared<BatchNorm2d>(out));
  if (act) s->push_back(std::make_shared<ReLU6>());
  return s;
}

InvertedResidual::InvertedResidual(int64_t inp, int64_t oup, int64_t stride, int64_t t)
    : res_(stride == 1 && inp == oup) {
  DF_CHECK(stride == 1 || stride == 2, ConfigError,
           "[nn.InvertedResidual] stride must be 1 or 2, got ", stride);
  int64_t hidden = inp * t;
  auto conv = std::make_shared<Sequential>();
  if (t != 1) conv->push_back(conv_bn_act(inp, hidden, 1));
  conv->push_back(conv_bn_act(hidden, hidden, 3, stride, hidden));
  conv->push_back(std::make_shared<Conv2d>(hidden, oup, 1, 1, 0, 1, 1, false));
  conv->push_back(std::make_shared<BatchNorm2d>(oup));
  register_module("conv", conv);
}

Tensor InvertedResidual::forward(const Tensor& x) {
  Tensor y = child("conv").forward(x);
  return res_ ? add(x, y) : y;
}

MobileNetV2::MobileNetV2(int64_t num_classes, double width_mult, double dropout, int64_t rn) {
  const int64_t setting[7][4] = {{1, 16, 1, 1}, {6, 24, 2, 2},  {6, 32, 3, 2}, {6, 64, 4, 2},
                                 {6, 96, 3, 1}, {6, 160, 3, 2}, {6, 320, 1, 1}};
  int64_t in = make_divisible(32 * width_mult, rn);
  int64_t last = make_divisible(1280 * std::max(1.0, width_mult), rn);
  auto features = std::make_shared<Sequential>();
  features->push_back(conv_bn_act(3, in, 3, 2));
  std::vector<int64_t> strides{2}, channels{in};
  for (auto& s : setting) {
    int64_t out = make_divisible(static_cast<double>(s[1]) * width_mult, rn);
    for (int64_t i = 0; i < s[2]; ++i) {
      int64_t stride = i == 0 ? s[3] : 1;
      features->push_back(std::make_shared<InvertedResidual>(in, out, stride, s[0]));
      strides.push_back(strides.back() * stride);
      channels.push_back(out);
      in = out;
    }
  }
  features->push_back(conv_bn_act(in, last, 1));
  strides.push_back(strides.back());
  channels.push_back(last);
  register_module("features", features);
  auto classifier = std::make_shared<Sequential>();
  classifier->push_back(std::make_shared<Dropout>(dropout));
  classifier->push_back(std::make_shared<Linear>(last, num_classes));
  register_module("classifier", classifier);
  for (int64_t target : {4, 8, 16, 32}) {
    int64_t idx = -1;
    for (size_t i = 0; i < strides.size(); ++i)
      if (strides[i] == target) idx = static_cast<int64_t>(i);
    taps_.push_back(idx);
    tap_channels_.push_back(channels.at(idx));
  }
  // torchvision's init: conv kaiming_normal(fan_out), BN 1 / 0, Linear normal(0, 0.01) / 0.
  apply([&](Module& m) {
    if (auto* c = dynamic_cast<Conv2d*>(&m)) {
      init::kaiming_normal_(c->param("weight"), "fan_out");
      if (c->has_param("bias")) init::constant_(c->param("bias"), 0.0);
    } else if (auto* l = dynamic_cast<Linear*>(&m)) {
      init::normal_(l->param("weight"), 0.0, 0.01);
      init::constant_(l->param("bias"), 0.0);
    }
  });
}

std::vector<Tensor> MobileNetV2::forward_features(const Tensor& x) {
  auto& f = child<Sequential>("features");
  std::vector<Tensor> out;
  Tensor y = x;
  size_t next = 0;
  for (size_t i = 0; i < f.size() && next < taps_.size(); ++i) {
    y = f[i].forward(y);
    while (next < taps_.size() && taps_[next] == static_cast<int64_t>(i)) {
      out.push_back(y);
      ++next;
    }
  }
  return out;
}

Tensor MobileNetV2::forward(const Tensor& x) {
  Tensor c5 = forward_features(x).back();  // the last feature module's output
  return child("classifier").forward(adaptive_avg_pool2d(c5, {1, 1}).flatten(1));
}

std::shared_ptr<MobileNetV2> mobilenet_v2(int64_t num_classes) {
  return std::make_shared<MobileNetV2>(num_classes);
}

}  // namespace detforge::nn

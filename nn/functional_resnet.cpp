#include "nn/functional_resnet.h"

#include <cmath>

#include "autograd/conv.h"
#include "autograd/elementwise.h"
#include "autograd/grad_mode.h"
#include "autograd/linalg.h"
#include "autograd/norm_pool.h"
#include "tensor/random.h"
#include "tensor/view_ops.h"

namespace detforge::nn {

FunctionalResNet::FunctionalResNet(int64_t classes, uint64_t seed, Device device, int64_t in_channels)
    : num_classes(classes) {
  Generator gen(seed);
  NoGradGuard no_grad;
  auto conv = [&](const std::string& name, int64_t cout, int64_t cin, int64_t k) {
    double std = std::sqrt(2.0 / static_cast<double>(cout * k * k));
    params.push_back({name + ".weight", mul(randn({cout, cin, k, k}, gen, DType::f32, device), std).set_requires_grad(true)});
    params.push_back({name + ".bn.weight", Tensor::ones({cout}, DType::f32, device).set_requires_grad(true)});
    params.push_back({name + ".bn.bias", Tensor::zeros({cout}, DType::f32, device).set_requires_grad(true)});
    bn_running.push_back({Tensor::zeros({cout}, DType::f32, device), Tensor::ones({cout}, DType::f32, device)});
  };
  conv("conv1", widths[0], in_channels, 7);
  int64_t cin = widths[0];
  for (size_t s = 0; s < widths.size(); ++s) {
    for (int64_t b = 0; b < blocks[s]; ++b) {
      std::string p = "layer" + std::to_string(s + 1) + "." + std::to_string(b);
      int64_t stride = (s > 0 && b == 0) ? 2 : 1;
      conv(p + ".conv1", widths[s], cin, 3);
      conv(p + ".conv2", widths[s], widths[s], 3);
      if (stride != 1 || cin != widths[s]) conv(p + ".downsample", widths[s], cin, 1);
      cin = widths[s];
    }
  }
  double bound = 1.0 / std::sqrt(static_cast<double>(cin));
  auto uniform = [&](const Shape& shape) {  // U(-bound, bound), PyTorch's Linear init
    return sub(mul(rand(shape, gen, DType::f32, device), 2 * bound), bound).set_requires_grad(true);
  };
  params.push_back({"fc.weight", uniform({classes, cin})});
  params.push_back({"fc.bias", uniform({classes})});
}

Tensor FunctionalResNet::next() { return params.at(cursor_++).value; }

Tensor FunctionalResNet::conv_bn(const Tensor& x, int64_t stride, int64_t padding, bool relu_after,
                                 bool training) {
  Tensor w = next(), gamma = next(), beta = next();
  auto& rs = bn_running.at(bn_cursor_++);
  Tensor y = conv2d(x, w, Tensor(), {stride}, {padding});
  y = batch_norm(y, rs.first, rs.second, gamma, beta, training, 0.1, 1e-5);
  return relu_after ? relu(y) : y;
}

Tensor FunctionalResNet::forward(const Tensor& images, bool training) {
  cursor_ = bn_cursor_ = 0;
  Tensor x = conv_bn(images, 2, 3, true, training);
  x = max_pool2d(x, {3}, {2}, {1});
  int64_t cin = widths[0];
  for (size_t s = 0; s < widths.size(); ++s) {
    for (int64_t b = 0; b < blocks[s]; ++b) {
      int64_t stride = (s > 0 && b == 0) ? 2 : 1;
      Tensor y = conv_bn(x, stride, 1, true, training);
      y = conv_bn(y, 1, 1, false, training);
      Tensor shortcut = (stride != 1 || cin != widths[s]) ? conv_bn(x, stride, 0, false, training) : x;
      x = relu(add(y, shortcut));
      cin = widths[s];
    }
  }
  x = adaptive_avg_pool2d(x, {1, 1}).flatten(1);
  Tensor fc_w = next(), fc_b = next();
  return linear(x, fc_w, fc_b);
}

void FunctionalResNet::sgd_step(double lr) {
  NoGradGuard no_grad;
  for (auto& p : params) {
    const Tensor& g = p.value.grad();
    if (!g.defined()) continue;
    raw::copy(p.value, sub(p.value, g, lr));
    p.value.set_grad(Tensor());
  }
}

int64_t FunctionalResNet::num_parameters() const {
  int64_t n = 0;
  for (auto& p : params) n += p.value.numel();
  return n;
}

}  // namespace detforge::nn

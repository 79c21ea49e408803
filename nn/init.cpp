#include "nn/init.h"

#include <cmath>

#include "autograd/grad_mode.h"
#include "tensor/error.h"
#include "tensor/view_ops.h"

namespace detforge::nn::init {

namespace {
int64_t receptive(const Tensor& w) {
  DF_CHECK(w.dim() >= 2, ShapeError,
           "[nn.init] fan of a tensor with fewer than 2 dims: ", shape_str(w.shape()));
  int64_t r = 1;
  for (int64_t d = 2; d < w.dim(); ++d) r *= w.size(d);
  return r;
}
void assign(const Tensor& t, const Tensor& values) {
  NoGradGuard no_grad;
  raw::copy(t, values);
}
}  // namespace

int64_t fan_in(const Tensor& w) {
  return w.size(1) * receptive(w);
}
int64_t fan_out(const Tensor& w) {
  return w.size(0) * receptive(w);
}

void uniform_(const Tensor& t, double low, double high, Generator& gen) {
  Tensor u = rand(t.shape(), gen, DType::f32, kCPU);
  float* p = u.data<float>();
  for (int64_t i = 0; i < u.numel(); ++i) p[i] = static_cast<float>(low + (high - low) * p[i]);
  assign(t, u);
}

void normal_(const Tensor& t, double mean, double std, Generator& gen) {
  Tensor n = randn(t.shape(), gen, DType::f32, kCPU);
  float* p = n.data<float>();
  for (int64_t i = 0; i < n.numel(); ++i) p[i] = static_cast<float>(mean + std * p[i]);
  assign(t, n);
}

void constant_(const Tensor& t, double value) {
  NoGradGuard no_grad;
  raw::fill(t, value);
}

void kaiming_normal_(const Tensor& w, const std::string& mode, Generator& gen) {
  DF_CHECK(mode == "fan_in" || mode == "fan_out", ConfigError, "[nn.init] kaiming_normal_ mode \"",
           mode, "\" (expected fan_in or fan_out)");
  int64_t fan = mode == "fan_in" ? fan_in(w) : fan_out(w);
  normal_(w, 0.0, std::sqrt(2.0 / static_cast<double>(std::max<int64_t>(fan, 1))), gen);
}

void default_layer_init(const Tensor& weight, const Tensor& bias, Generator& gen) {
  double bound = 1.0 / std::sqrt(static_cast<double>(std::max<int64_t>(fan_in(weight), 1)));
  uniform_(weight, -bound, bound, gen);
  if (bias.defined()) uniform_(bias, -bound, bound, gen);
}

}  // namespace detforge::nn::init

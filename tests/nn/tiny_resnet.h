// A small ResNet-family model for pruning / morphism tests: stem conv3x3 + BN + ReLU, then
// "layer1".."layer3" (Sequential of nn::ResNetBlock built from BlockSpecs), forward = last stage.
// randomize_norms gives every BN random gamma / beta / running statistics so output comparisons
// can fail.
#pragma once
#include <memory>
#include <vector>

#include "autograd/elementwise.h"
#include "nn/conv.h"
#include "nn/norm.h"
#include "nn/resnet.h"
#include "nn/sequential.h"
#include "tests/test_util.h"

namespace detforge::test {

class TinyResNet : public nn::Cloneable<TinyResNet> {
 public:
  // depths per stage; BasicBlock widths 8/16/32, Bottleneck mid 8/16/32 (x groups 4 for ResNeXt
  // with groups = 4: 4 channels per group) and out 4x.
  TinyResNet(bool bottleneck, int64_t groups = 1, std::vector<int64_t> depths = {2, 2, 2},
             nn::NormFactory norm = {}) {
    nn::ResNetConfig cfg;
    cfg.bottleneck = bottleneck;
    cfg.norm_layer = norm;
    register_module("conv1", std::make_shared<nn::Conv2d>(3, 8, 3, 1, 1, 1, 1, false));
    register_module("bn1", norm ? norm(8) : std::make_shared<nn::BatchNorm2d>(8));
    int64_t in = 8;
    for (size_t s = 0; s < depths.size(); ++s) {
      auto layer = std::make_shared<nn::Sequential>();
      const int64_t base = 8 << s;
      for (int64_t b = 0; b < depths[s]; ++b) {
        nn::BlockSpec sp;
        sp.bottleneck = bottleneck;
        sp.in_channels = in;
        sp.mid_channels = bottleneck && groups > 1 ? 4 * groups : base;
        sp.out_channels = bottleneck ? base * 4 : base;
        sp.stride = (s > 0 && b == 0) ? 2 : 1;
        sp.groups = bottleneck ? groups : 1;
        layer->push_back(std::make_shared<nn::ResNetBlock>(cfg, sp));
        in = sp.out_channels;
      }
      register_module("layer" + std::to_string(s + 1), layer);
    }
  }
  std::string type_name() const override { return "TinyResNet"; }
  Tensor forward(const Tensor& x) override {
    Tensor y = relu(child("bn1").forward(child("conv1").forward(x)));
    for (size_t s = 1; has_layer(s); ++s) y = child("layer" + std::to_string(s)).forward(y);
    return y;
  }

 private:
  bool has_layer(size_t s) const {
    for (auto& c : named_children())
      if (c.first == "layer" + std::to_string(s)) return true;
    return false;
  }
};

// Random gamma in [0.5, 1.5] (sign flipped for odd channels), beta in [-0.5, 0.5], running_mean
// N(0, 0.2), running_var in [0.5, 2] for every BatchNorm2d of the model.
inline void randomize_norms(nn::Module& m, uint64_t seed = 1) {
  m.apply([&](nn::Module& mod) {
    auto* bn = dynamic_cast<nn::BatchNorm2d*>(&mod);
    if (!bn) return;
    const int64_t n = bn->num_features();
    Tensor g = rand_uniform({n}, 0.5, 1.5, DType::f32, seed++);
    std::vector<float> gv = g.to_vector<float>();
    for (size_t i = 1; i < gv.size(); i += 2) gv[i] = -gv[i];
    bn->set_parameter("weight", Tensor::from_vector(gv, {n}));
    bn->set_parameter("bias", rand_uniform({n}, -0.5, 0.5, DType::f32, seed++));
    Tensor rm = randn({n}, DType::f32, seed++);
    std::vector<float> rmv = rm.to_vector<float>();
    for (float& v : rmv) v *= 0.2f;
    bn->set_buffer("running_mean", Tensor::from_vector(rmv, {n}));
    bn->set_buffer("running_var", rand_uniform({n}, 0.5, 2.0, DType::f32, seed++));
  });
}

// Sets gamma and beta of the listed channels of a BatchNorm2d to 0.
inline void zero_channels(nn::Module& bn, const std::vector<int64_t>& channels) {
  std::vector<float> g = bn.param("weight").to_vector<float>();
  std::vector<float> b = bn.param("bias").to_vector<float>();
  for (int64_t c : channels) g[static_cast<size_t>(c)] = b[static_cast<size_t>(c)] = 0.f;
  const auto n = static_cast<int64_t>(g.size());
  bn.set_parameter("weight", Tensor::from_vector(g, {n}));
  bn.set_parameter("bias", Tensor::from_vector(b, {n}));
}

inline double max_abs_diff(const Tensor& a, const Tensor& b) {
  auto x = a.to_vector<double>(), y = b.to_vector<double>();
  if (x.size() != y.size()) return 1e300;
  double m = 0;
  for (size_t i = 0; i < x.size(); ++i) m = std::max(m, std::fabs(x[i] - y[i]));
  return m;
}

}  // namespace detforge::test

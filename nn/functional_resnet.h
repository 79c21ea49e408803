// A ResNet-18-shaped network written directly with engine ops (the Module framework comes with the
// nn issue). Used by `detforge demo`, the training-step benchmark (bench/resnet_step_bench.cpp) and
// mirrored op for op by bench/compare/resnet_step_torch_cpu.py for the PyTorch comparison.
#pragma once
#include <string>
#include <vector>

#include "tensor/tensor.h"

namespace detforge::nn {

struct FunctionalResNet {
  struct Param {
    std::string name;
    Tensor value;
  };
  std::vector<Param> params;                  // conv weights, BN affine, fc (requires grad)
  std::vector<std::pair<Tensor, Tensor>> bn_running;  // running mean/var per BN, in order
  int64_t num_classes = 10;
  std::vector<int64_t> widths{64, 128, 256, 512};
  std::vector<int64_t> blocks{2, 2, 2, 2};

  // Kaiming-normal conv weights (fan_out, ReLU gain), BN gamma 1 / beta 0, uniform fc.
  FunctionalResNet(int64_t num_classes, uint64_t seed, Device device = kCPU, int64_t in_channels = 3);
  // Logits [N, num_classes]; BN in training mode updates the running stats.
  Tensor forward(const Tensor& images, bool training);
  // One SGD step (plain, lr) on the current .grad of every parameter, then clears the grads.
  void sgd_step(double lr);
  int64_t num_parameters() const;

 private:
  size_t cursor_ = 0, bn_cursor_ = 0;
  Tensor next();
  Tensor conv_bn(const Tensor& x, int64_t stride, int64_t padding, bool relu, bool training);
};

}  // namespace detforge::nn

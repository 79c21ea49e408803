#include "nn/pooling.h"

#include "autograd/norm_pool.h"

namespace detforge::nn {

Tensor MaxPool2d::forward(const Tensor& x) {
  return max_pool2d(x, k_, s_, p_, d_, ceil_);
}
Tensor AdaptiveAvgPool2d::forward(const Tensor& x) {
  return adaptive_avg_pool2d(x, out_);
}

}  // namespace detforge::nn

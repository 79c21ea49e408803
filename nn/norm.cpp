#include "nn/norm.h"

#include "autograd/elementwise.h"
#include "autograd/grad_mode.h"
#include "autograd/norm_pool.h"
#include "tensor/error.h"
#include "tensor/view_ops.h"

namespace detforge::nn {

BatchNorm2d::BatchNorm2d(int64_t n, double eps, std::optional<double> momentum, bool affine,
                         bool track)
    : num_features_(n), eps_(eps), momentum_(momentum), affine_(affine), track_(track) {
  DF_CHECK(n > 0, ConfigError, "[nn.BatchNorm2d] num_features must be positive, got ", n);
  if (affine) {
    register_parameter("weight", Tensor::ones({n}));
    register_parameter("bias", Tensor::zeros({n}));
  }
  if (track) {
    register_buffer("running_mean", Tensor::zeros({n}));
    register_buffer("running_var", Tensor::ones({n}));
    register_buffer("num_batches_tracked", Tensor::zeros({}, DType::i64));
  }
}

void BatchNorm2d::reset_running_stats() {
  if (!track_) return;
  raw::fill(buffer("running_mean"), 0.0);
  raw::fill(buffer("running_var"), 1.0);
  raw::fill(buffer("num_batches_tracked"), 0.0);
}

Tensor BatchNorm2d::forward(const Tensor& x) {
  DF_CHECK(x.dim() == 4 && x.size(1) == num_features_, ShapeError,
           "[nn.BatchNorm2d] expected input [N, ", num_features_, ", H, W], got ",
           shape_str(x.shape()));
  Tensor w = affine_ ? param("weight") : Tensor(), b = affine_ ? param("bias") : Tensor();
  bool use_batch_stats = is_training() || !track_;
  double momentum = momentum_.value_or(0.0);
  if (is_training() && track_) {
    const Tensor& nbt = buffer("num_batches_tracked");
    count_batch(nbt);
    // Cumulative average: the count is read on the host (a device sync on CUDA, only in this mode).
    if (!momentum_) momentum = 1.0 / nbt.item();
  }
  Tensor rm = track_ ? buffer("running_mean") : Tensor();
  Tensor rv = track_ ? buffer("running_var") : Tensor();
  // In training with tracking, batch_norm updates the running stats in place.
  return batch_norm(x, rm, rv, w, b, use_batch_stats, momentum, eps_);
}

GroupNorm::GroupNorm(int64_t g, int64_t c, double eps, bool affine)
    : groups_(g), channels_(c), eps_(eps), affine_(affine) {
  DF_CHECK(g > 0 && c > 0 && c % g == 0, ConfigError, "[nn.GroupNorm] num_channels ", c,
           " must be divisible by num_groups ", g);
  if (affine) {
    register_parameter("weight", Tensor::ones({c}));
    register_parameter("bias", Tensor::zeros({c}));
  }
}

Tensor GroupNorm::forward(const Tensor& x) {
  return group_norm(x, groups_, affine_ ? param("weight") : Tensor(),
                    affine_ ? param("bias") : Tensor(), eps_);
}

void count_batch(const Tensor& num_batches_tracked) {
  NoGradGuard no_grad;
  raw::copy(num_batches_tracked, add(num_batches_tracked, 1.0));
}

}  // namespace detforge::nn

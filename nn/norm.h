// BatchNorm2d and GroupNorm with torch.nn's parameter and buffer names: "weight", "bias",
// "running_mean", "running_var", "num_batches_tracked" (int64 0-dim, as torchvision's checkpoints).
#pragma once
#include <optional>

#include "nn/module.h"

namespace detforge::nn {

class DETFORGE_API BatchNorm2d : public Cloneable<BatchNorm2d> {
 public:
  // momentum nullopt: cumulative moving average (1 / num_batches_tracked), as PyTorch's None.
  explicit BatchNorm2d(int64_t num_features, double eps = 1e-5,
                       std::optional<double> momentum = 0.1, bool affine = true,
                       bool track_running_stats = true);
  std::string type_name() const override { return "BatchNorm2d"; }
  bool is_norm() const override { return true; }
  Tensor forward(const Tensor& input) override;
  int64_t num_features() const { return num_features_; }
  double eps() const { return eps_; }
  std::optional<double> momentum() const { return momentum_; }
  bool affine() const { return affine_; }
  bool track_running_stats() const { return track_; }
  void reset_running_stats();

 private:
  int64_t num_features_;
  double eps_;
  std::optional<double> momentum_;
  bool affine_, track_;
};

class DETFORGE_API GroupNorm : public Cloneable<GroupNorm> {
 public:
  GroupNorm(int64_t num_groups, int64_t num_channels, double eps = 1e-5, bool affine = true);
  std::string type_name() const override { return "GroupNorm"; }
  bool is_norm() const override { return true; }
  Tensor forward(const Tensor& input) override;
  int64_t num_groups() const { return groups_; }
  int64_t num_channels() const { return channels_; }
  double eps() const { return eps_; }
  bool affine() const { return affine_; }

 private:
  int64_t groups_, channels_;
  double eps_;
  bool affine_;
};

// num_batches_tracked += 1 on the buffer's own device (no host read: that would sync CUDA once per
// layer per training step). Shared by BatchNorm2d and ElasticBatchNorm2d.
DETFORGE_API void count_batch(const Tensor& num_batches_tracked);

}  // namespace detforge::nn

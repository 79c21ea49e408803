// Elastic layers (OFA-style supernet building blocks). Each owns max-size parameters under
// torch-like names, runs an active sub-configuration chosen by set_active(...), and extract()s the
// equivalent static layer (copied weights, identical outputs).
//
// - ElasticConv2d: "weight" [Cout_max, Cin_max / groups, K, K], optional "bias", and for kernel
//   sizes {7, 5, 3} OFA's "kernel_transform_7to5" (25x25) / "kernel_transform_5to3" (9x9),
//   initialised to identity, registered when the kernel list crosses that step. The active in
//   channels are the input's channel count; depthwise layers use groups = active channels.
// - ElasticBatchNorm2d: the first C channels of weight, bias, running_mean and running_var (views,
//   so training updates the max-size buffers in place; running var unbiased as PyTorch).
// - ElasticGroupNorm: the number of groups G is fixed; C active channels (a prefix, C % G == 0)
//   form G groups of C / G consecutive channels, exactly as a static GroupNorm(G, C) on the
//   prefix. So channels per group scale with the width (a channel's group can change with C).
// - ElasticLinear: in prefix (the input's last dim) and out prefix.
#pragma once
#include <vector>

#include "autograd/elastic.h"
#include "nn/conv.h"
#include "nn/linear.h"
#include "nn/module.h"
#include "nn/norm.h"

namespace detforge::nn {

struct ElasticConv2dOptions {
  int64_t max_in_channels = 0, max_out_channels = 0;
  std::vector<int64_t> kernel_sizes{3};  // the largest is the stored K
  int64_t stride = 1, dilation = 1;
  int64_t groups = 1;      // fixed groups (ignored when depthwise)
  bool depthwise = false;  // groups = active channels, weight [C_max, 1, K, K]
  bool bias = false;
};

class DETFORGE_API ElasticConv2d : public Cloneable<ElasticConv2d> {
 public:
  explicit ElasticConv2d(const ElasticConv2dOptions& options);
  std::string type_name() const override { return "ElasticConv2d"; }
  Tensor forward(const Tensor& input) override;

  // Active output channels (prefix) and kernel size; out_index (distinct rows) replaces the prefix.
  void set_active(int64_t out_channels, int64_t kernel_size, std::vector<int64_t> out_index = {});
  int64_t active_out() const { return active_out_; }
  int64_t active_kernel() const { return active_k_; }
  int64_t max_kernel() const { return max_k_; }
  const ElasticConv2dOptions& options() const { return opt_; }
  // The packed active weight for `in_channels` input channels (differentiable).
  Tensor active_weight(int64_t in_channels) const;
  // A static Conv2d computing what forward() computes on `in_channels` input channels.
  std::shared_ptr<Conv2d> extract(int64_t in_channels) const;
  // The persistent packed-weight buffer forward() gathers into (lifetime rules:
  // autograd/elastic.h).
  const ElasticPackedBuffer& packed_buffer() const { return packed_; }

 private:
  int64_t groups_for(int64_t in_channels) const;
  // The kernel transform 7->5 (from 7) or 5->3 (from 5) when the active kernel applies it.
  Tensor transform(int64_t from) const;
  ElasticConv2dOptions opt_;
  ElasticPackedBuffer packed_;
  int64_t max_k_ = 3, active_out_ = 0, active_k_ = 3;
  std::vector<int64_t> out_index_;
};

class DETFORGE_API ElasticBatchNorm2d : public Cloneable<ElasticBatchNorm2d> {
 public:
  explicit ElasticBatchNorm2d(int64_t max_features, double eps = 1e-5, double momentum = 0.1);
  std::string type_name() const override { return "ElasticBatchNorm2d"; }
  bool is_norm() const override { return true; }
  Tensor forward(const Tensor& input) override;
  int64_t max_features() const { return max_; }
  double eps() const { return eps_; }
  double momentum() const { return momentum_; }
  std::shared_ptr<BatchNorm2d> extract(int64_t channels) const;
  void reset_running_stats();

  // BN recalibration (bn_recalibration.h): while on, a training forward normalises with the batch
  // statistics and merges them (Chan/Welford, in double) into an exact running estimate instead
  // of the momentum update; end_recalibration writes mean and unbiased variance.
  void begin_recalibration();
  void end_recalibration();
  bool recalibrating() const { return recal_; }

 private:
  int64_t max_;
  double eps_, momentum_;
  bool recal_ = false;
  int64_t recal_channels_ = 0;
  double recal_count_ = 0;
  std::vector<double> recal_mean_, recal_m2_;
};

class DETFORGE_API ElasticGroupNorm : public Cloneable<ElasticGroupNorm> {
 public:
  ElasticGroupNorm(int64_t num_groups, int64_t max_channels, double eps = 1e-5);
  std::string type_name() const override { return "ElasticGroupNorm"; }
  bool is_norm() const override { return true; }
  Tensor forward(const Tensor& input) override;
  std::shared_ptr<GroupNorm> extract(int64_t channels) const;

 private:
  int64_t groups_, max_;
  double eps_;
};

class DETFORGE_API ElasticLinear : public Cloneable<ElasticLinear> {
 public:
  ElasticLinear(int64_t max_in, int64_t max_out, bool bias = true);
  std::string type_name() const override { return "ElasticLinear"; }
  Tensor forward(const Tensor& input) override;
  void set_active(int64_t out_features) { active_out_ = out_features; }
  int64_t active_out() const { return active_out_; }
  std::shared_ptr<Linear> extract(int64_t in_features) const;

 private:
  int64_t max_in_, max_out_, active_out_;
  bool bias_;
};

// OFA channel re-organisation: sorts conv's output channels by the L1 norm of next's weights over
// each of those channels (descending, stable), and permutes conv's rows (and bias), bn's
// parameters and running stats, and next's input columns consistently, so the network function is
// unchanged. next must have groups == 1. Returns the permutation (new position -> old channel).
DETFORGE_API std::vector<int64_t> sort_channels_by_importance(ElasticConv2d& conv,
                                                              ElasticBatchNorm2d* bn,
                                                              ElasticConv2d& next);

}  // namespace detforge::nn

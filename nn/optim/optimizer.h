// Optimizer base: parameter groups over plain tensors (their .grad() is read), fused multi-tensor
// steps (kernels/optim), zero_grad, and state save/load as safetensors tensors + JSON hyper-params.
#pragma once
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "tensor/tensor.h"

namespace detforge::nn {

struct ParamGroup {
  std::vector<Tensor> params;  // float32, contiguous, all on one device
  double lr = 1e-3;
  double weight_decay = 0.0;  // SGD: L2 added to the gradient; AdamW: decoupled
  // SGD
  double momentum = 0.0;
  double dampening = 0.0;
  bool nesterov = false;
  // AdamW
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
  bool amsgrad = false;
  bool maximize = false;
  // Network slimming: lambda * sign(gamma) (sign(0) = 0) added to the gradient inside the fused
  // step of the flagged tensors; 0 = off. bn_sparsity_mask[i] flags params[i]; empty = every param.
  double bn_sparsity_lambda = 0.0;
  std::vector<bool> bn_sparsity_mask;
  std::string name;  // optional, informative

  bool sparsity_on(size_t i) const {
    return bn_sparsity_lambda != 0.0 && (bn_sparsity_mask.empty() || bn_sparsity_mask.at(i));
  }
};

// Optimizer state: per-parameter buffers as CPU tensors named "state.<group>.<param>.<buffer>"
// (safetensors-compatible) and the hyper-parameters, step counts and optimizer kind as JSON.
struct OptimizerState {
  std::map<std::string, Tensor> tensors;
  nlohmann::json hparams;
  // One safetensors file; the JSON goes to __metadata__["hparams"].
  void save(const std::string& path) const;
  static OptimizerState load(const std::string& path);
};

class DETFORGE_API Optimizer {
 public:
  explicit Optimizer(std::vector<ParamGroup> groups);
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  virtual void step() = 0;  // params without a gradient are skipped
  void zero_grad(bool set_to_none = true);
  std::vector<ParamGroup>& param_groups() { return groups_; }
  const std::vector<ParamGroup>& param_groups() const { return groups_; }
  virtual const char* kind() const = 0;  // "SGD", "AdamW"

  OptimizerState state_dict() const;
  // Restores buffers, step counts and group hyper-parameters; ConfigError/ShapeError when the state
  // belongs to another optimizer kind or another parameter layout.
  void load_state_dict(const OptimizerState& state);

 protected:
  struct ParamState {
    std::map<std::string, Tensor> buffers;  // on the parameter's device
    int64_t step = 0;
  };
  ParamState& state(size_t g, size_t i) { return state_[g][i]; }
  // Checks param i of group g (and its grad) for a fused step; returns false when it has no grad.
  bool check_param(size_t g, size_t i, Device& device, bool& device_set) const;

  std::vector<ParamGroup> groups_;
  std::vector<std::vector<ParamState>> state_;
};

// Splits named parameters into {decay, no-decay} groups (both copies of `base`, the second with
// weight_decay = 0). No-decay: names ending in "bias" and every 1-D tensor (BN/GN weights).
// When base.bn_sparsity_lambda != 0 the lambda is kept only on 1-D tensors whose name ends in
// "weight" (norm-layer gammas, flagged in the no-decay group's mask) and turned off elsewhere.
DETFORGE_API std::vector<ParamGroup> split_decay_groups(
    const std::vector<std::pair<std::string, Tensor>>& named, const ParamGroup& base);

}  // namespace detforge::nn

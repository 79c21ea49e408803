// Learning-rate schedules as pure functions of the iteration (lr_at(iter, base_lr)), PyTorch 1.13
// semantics for StepLR / MultiStepLR / CosineAnnealingLR (closed form), and mmdetection-style
// warm-up wrapping any of them. LRScheduler is the stateful part: it sets the optimizer's group
// lrs.
#pragma once
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nn/optim/optimizer.h"

namespace detforge::nn {

class DETFORGE_API LRSchedule {
 public:
  virtual ~LRSchedule() = default;
  virtual double lr_at(int64_t iter, double base_lr) const = 0;
  virtual nlohmann::json to_json() const = 0;
};

// base_lr * gamma^(iter / step_size)
class DETFORGE_API StepSchedule : public LRSchedule {
 public:
  StepSchedule(int64_t step_size, double gamma = 0.1);
  double lr_at(int64_t iter, double base_lr) const override;
  nlohmann::json to_json() const override;

 private:
  int64_t step_size_;
  double gamma_;
};

// base_lr * gamma^(number of milestones <= iter)
class DETFORGE_API MultiStepSchedule : public LRSchedule {
 public:
  MultiStepSchedule(std::vector<int64_t> milestones, double gamma = 0.1);
  double lr_at(int64_t iter, double base_lr) const override;
  nlohmann::json to_json() const override;

 private:
  std::vector<int64_t> milestones_;  // sorted
  double gamma_;
};

// eta_min + (base_lr - eta_min) * (1 + cos(pi * iter / t_max)) / 2
class DETFORGE_API CosineSchedule : public LRSchedule {
 public:
  CosineSchedule(int64_t t_max, double eta_min = 0.0);
  double lr_at(int64_t iter, double base_lr) const override;
  nlohmann::json to_json() const override;

 private:
  int64_t t_max_;
  double eta_min_;
};

// Constant base_lr (to warm up into a flat schedule).
class DETFORGE_API ConstantSchedule : public LRSchedule {
 public:
  double lr_at(int64_t, double base_lr) const override { return base_lr; }
  nlohmann::json to_json() const override { return {{"type", "constant"}}; }
};

// mmdetection (mmcv LrUpdaterHook) warm-up over the first warmup_iters iterations, applied to the
// wrapped schedule's lr r = inner.lr_at(iter):
//   linear:   r * (1 - (1 - iter / warmup_iters) * (1 - warmup_ratio))
//   constant: r * warmup_ratio
//   exp:      r * warmup_ratio^(1 - iter / warmup_iters)
class DETFORGE_API WarmupSchedule : public LRSchedule {
 public:
  WarmupSchedule(std::shared_ptr<const LRSchedule> inner, int64_t warmup_iters,
                 double warmup_ratio = 0.001, std::string mode = "linear");
  double lr_at(int64_t iter, double base_lr) const override;
  nlohmann::json to_json() const override;

 private:
  std::shared_ptr<const LRSchedule> inner_;
  int64_t warmup_iters_;
  double warmup_ratio_;
  std::string mode_;
};

// Builds a schedule from to_json()'s output ({"type":
// "step"|"multistep"|"cosine"|"constant"|"warmup", ...}).
DETFORGE_API std::shared_ptr<const LRSchedule> schedule_from_json(const nlohmann::json& j);

// Sets every group's lr to schedule.lr_at(iter, base lr of the group). The base lrs are the groups'
// lrs at construction; construction applies iteration 0 (as PyTorch's schedulers do).
class DETFORGE_API LRScheduler {
 public:
  LRScheduler(Optimizer& optimizer, std::shared_ptr<const LRSchedule> schedule);
  void step();                  // ++iter, then apply
  void set_iter(int64_t iter);  // jump (resume) and apply
  int64_t iter() const { return iter_; }
  const std::vector<double>& base_lrs() const { return base_lrs_; }
  std::vector<double> current_lrs() const;
  nlohmann::json state_dict() const;  // {"iter", "base_lrs", "schedule"}
  void load_state_dict(const nlohmann::json& state);

 private:
  void apply();
  Optimizer& opt_;
  std::shared_ptr<const LRSchedule> schedule_;
  std::vector<double> base_lrs_;
  int64_t iter_ = 0;
};

}  // namespace detforge::nn

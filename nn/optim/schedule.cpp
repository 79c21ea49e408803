#include "nn/optim/schedule.h"

#include <algorithm>
#include <cmath>

#include "tensor/error.h"

namespace detforge::nn {

StepSchedule::StepSchedule(int64_t step_size, double gamma) : step_size_(step_size), gamma_(gamma) {
  DF_CHECK(step_size > 0, ConfigError, "[StepSchedule] step_size ", step_size, " must be > 0");
}
double StepSchedule::lr_at(int64_t iter, double base_lr) const {
  return base_lr * std::pow(gamma_, static_cast<double>(std::max<int64_t>(iter, 0) / step_size_));
}
nlohmann::json StepSchedule::to_json() const {
  return {{"type", "step"}, {"step_size", step_size_}, {"gamma", gamma_}};
}

MultiStepSchedule::MultiStepSchedule(std::vector<int64_t> milestones, double gamma)
    : milestones_(std::move(milestones)), gamma_(gamma) {
  std::sort(milestones_.begin(), milestones_.end());
}
double MultiStepSchedule::lr_at(int64_t iter, double base_lr) const {
  auto n = std::upper_bound(milestones_.begin(), milestones_.end(), iter) - milestones_.begin();
  return base_lr * std::pow(gamma_, static_cast<double>(n));
}
nlohmann::json MultiStepSchedule::to_json() const {
  return {{"type", "multistep"}, {"milestones", milestones_}, {"gamma", gamma_}};
}

CosineSchedule::CosineSchedule(int64_t t_max, double eta_min) : t_max_(t_max), eta_min_(eta_min) {
  DF_CHECK(t_max > 0, ConfigError, "[CosineSchedule] t_max ", t_max, " must be > 0");
}
double CosineSchedule::lr_at(int64_t iter, double base_lr) const {
  const double pi = 3.14159265358979323846;
  return eta_min_ +
         (base_lr - eta_min_) * (1.0 + std::cos(pi * static_cast<double>(iter) / t_max_)) / 2.0;
}
nlohmann::json CosineSchedule::to_json() const {
  return {{"type", "cosine"}, {"t_max", t_max_}, {"eta_min", eta_min_}};
}

WarmupSchedule::WarmupSchedule(std::shared_ptr<const LRSchedule> inner, int64_t warmup_iters,
                               double warmup_ratio, std::string mode)
    : inner_(std::move(inner)),
      warmup_iters_(warmup_iters),
      warmup_ratio_(warmup_ratio),
      mode_(std::move(mode)) {
  DF_CHECK(inner_ != nullptr, ConfigError, "[WarmupSchedule] no wrapped schedule");
  DF_CHECK(warmup_iters >= 0, ConfigError, "[WarmupSchedule] warmup_iters ", warmup_iters,
           " must be >= 0");
  DF_CHECK(warmup_ratio > 0 && warmup_ratio <= 1, ConfigError, "[WarmupSchedule] warmup_ratio ",
           warmup_ratio, " must be in (0, 1]");
  DF_CHECK(mode_ == "linear" || mode_ == "constant" || mode_ == "exp", ConfigError,
           "[WarmupSchedule] mode \"", mode_, "\" (linear, constant, exp)");
}
double WarmupSchedule::lr_at(int64_t iter, double base_lr) const {
  double r = inner_->lr_at(iter, base_lr);
  if (iter >= warmup_iters_) return r;
  double frac = static_cast<double>(iter) / static_cast<double>(warmup_iters_);
  if (mode_ == "constant") return r * warmup_ratio_;
  if (mode_ == "exp") return r * std::pow(warmup_ratio_, 1.0 - frac);
  double k = (1.0 - frac) * (1.0 - warmup_ratio_);
  return r * (1.0 - k);
}
nlohmann::json WarmupSchedule::to_json() const {
  return {{"type", "warmup"},
          {"warmup_iters", warmup_iters_},
          {"warmup_ratio", warmup_ratio_},
          {"mode", mode_},
          {"inner", inner_->to_json()}};
}

std::shared_ptr<const LRSchedule> schedule_from_json(const nlohmann::json& j) {
  try {
    std::string type = j.at("type").get<std::string>();
    if (type == "step")
      return std::make_shared<StepSchedule>(j.at("step_size").get<int64_t>(),
                                            j.at("gamma").get<double>());
    if (type == "multistep")
      return std::make_shared<MultiStepSchedule>(j.at("milestones").get<std::vector<int64_t>>(),
                                                 j.at("gamma").get<double>());
    if (type == "cosine")
      return std::make_shared<CosineSchedule>(j.at("t_max").get<int64_t>(),
                                              j.value("eta_min", 0.0));
    if (type == "constant") return std::make_shared<ConstantSchedule>();
    if (type == "warmup")
      return std::make_shared<WarmupSchedule>(
          schedule_from_json(j.at("inner")), j.at("warmup_iters").get<int64_t>(),
          j.value("warmup_ratio", 0.001), j.value("mode", std::string("linear")));
    throw ConfigError(str_cat("[schedule] unknown type \"", type, "\""));
  } catch (const nlohmann::json::exception& e) {
    throw ConfigError(str_cat("[schedule] bad schedule JSON ", j.dump(), ": ", e.what()));
  }
}

LRScheduler::LRScheduler(Optimizer& optimizer, std::shared_ptr<const LRSchedule> schedule)
    : opt_(optimizer), schedule_(std::move(schedule)) {
  DF_CHECK(schedule_ != nullptr, ConfigError, "[LRScheduler] no schedule");
  for (const ParamGroup& g : opt_.param_groups()) base_lrs_.push_back(g.lr);
  apply();
}

void LRScheduler::apply() {
  auto& groups = opt_.param_groups();
  DF_CHECK(groups.size() == base_lrs_.size(), ConfigError, "[LRScheduler] optimizer has ",
           groups.size(), " groups, the scheduler ", base_lrs_.size());
  for (size_t g = 0; g < groups.size(); ++g) groups[g].lr = schedule_->lr_at(iter_, base_lrs_[g]);
}

void LRScheduler::step() {
  ++iter_;
  apply();
}

void LRScheduler::set_iter(int64_t iter) {
  iter_ = iter;
  apply();
}

std::vector<double> LRScheduler::current_lrs() const {
  std::vector<double> lrs;
  for (const ParamGroup& g : opt_.param_groups()) lrs.push_back(g.lr);
  return lrs;
}

nlohmann::json LRScheduler::state_dict() const {
  return {{"iter", iter_}, {"base_lrs", base_lrs_}, {"schedule", schedule_->to_json()}};
}

void LRScheduler::load_state_dict(const nlohmann::json& state) {
  try {
    std::vector<double> base = state.at("base_lrs").get<std::vector<double>>();
    DF_CHECK(base.size() == opt_.param_groups().size(), ConfigError, "[LRScheduler] state has ",
             base.size(), " base lrs for ", opt_.param_groups().size(), " groups");
    base_lrs_ = base;
    if (state.contains("schedule")) schedule_ = schedule_from_json(state.at("schedule"));
    iter_ = state.at("iter").get<int64_t>();
  } catch (const nlohmann::json::exception& e) {
    throw ConfigError(str_cat("[LRScheduler] bad state JSON: ", e.what()));
  }
  apply();
}

}  // namespace detforge::nn

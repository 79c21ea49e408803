#include "nn/optim/adamw.h"

#include <cmath>

#include "kernels/optim/adamw.h"
#include "tensor/error.h"

namespace detforge::nn {

AdamW::AdamW(std::vector<ParamGroup> groups) : Optimizer(std::move(groups)) {
  for (size_t g = 0; g < groups_.size(); ++g) {
    const ParamGroup& pg = groups_[g];
    DF_CHECK(pg.beta1 >= 0 && pg.beta1 < 1 && pg.beta2 >= 0 && pg.beta2 < 1, ConfigError,
             "[AdamW] group ", g, ": betas (", pg.beta1, ", ", pg.beta2, ") must be in [0, 1)");
    DF_CHECK(pg.eps >= 0 && pg.weight_decay >= 0, ConfigError, "[AdamW] group ", g, ": eps ",
             pg.eps, ", weight_decay ", pg.weight_decay, " must be >= 0");
  }
}

void AdamW::step() {
  std::vector<kernels::AdamWEntry> entries;
  Device device;
  bool device_set = false;
  for (size_t g = 0; g < groups_.size(); ++g) {
    const ParamGroup& pg = groups_[g];
    for (size_t i = 0; i < pg.params.size(); ++i) {
      if (!check_param(g, i, device, device_set)) continue;
      const Tensor& p = pg.params[i];
      ParamState& st = state(g, i);
      auto buffer = [&](const char* name) {
        auto it = st.buffers.find(name);
        if (it == st.buffers.end())
          it = st.buffers.emplace(name, Tensor::zeros(p.shape(), DType::f32, p.device())).first;
        return it->second.data<float>();
      };
      kernels::AdamWEntry e;
      e.param = p.data<float>();
      e.grad = p.grad().data<float>();
      e.numel = p.numel();
      e.state0 = buffer("exp_avg");
      e.state1 = buffer("exp_avg_sq");
      if (pg.amsgrad) e.state2 = buffer("max_exp_avg_sq");
      ++st.step;
      double step = static_cast<double>(st.step);
      e.h.decay = static_cast<float>(1.0 - pg.lr * pg.weight_decay);
      e.h.beta1 = static_cast<float>(pg.beta1);
      e.h.beta2 = static_cast<float>(pg.beta2);
      e.h.one_minus_beta1 = static_cast<float>(1.0 - pg.beta1);
      e.h.one_minus_beta2 = static_cast<float>(1.0 - pg.beta2);
      e.h.eps = static_cast<float>(pg.eps);
      e.h.step_size = static_cast<float>(pg.lr / (1.0 - std::pow(pg.beta1, step)));
      e.h.bc2_sqrt = static_cast<float>(std::sqrt(1.0 - std::pow(pg.beta2, step)));
      e.h.bn_lambda = pg.sparsity_on(i) ? static_cast<float>(pg.bn_sparsity_lambda) : 0.f;
      e.h.amsgrad = pg.amsgrad;
      e.h.maximize = pg.maximize;
      if (e.numel > 0) entries.push_back(e);
    }
  }
  if (entries.empty()) return;
  kernels::adamw_step_stub(device, "AdamW")(device, entries);
}

}  // namespace detforge::nn

#include "nn/optim/sgd.h"

#include "kernels/optim/sgd.h"
#include "tensor/error.h"

namespace detforge::nn {

SGD::SGD(std::vector<ParamGroup> groups) : Optimizer(std::move(groups)) {
  for (size_t g = 0; g < groups_.size(); ++g) {
    const ParamGroup& pg = groups_[g];
    DF_CHECK(pg.momentum >= 0 && pg.weight_decay >= 0, ConfigError, "[SGD] group ", g,
             ": momentum ", pg.momentum, ", weight_decay ", pg.weight_decay, " must be >= 0");
    DF_CHECK(!pg.nesterov || (pg.momentum > 0 && pg.dampening == 0), ConfigError, "[SGD] group ", g,
             ": nesterov requires momentum > 0 and dampening 0");
  }
}

void SGD::step() {
  std::vector<kernels::SgdEntry> entries;
  Device device;
  bool device_set = false;
  for (size_t g = 0; g < groups_.size(); ++g) {
    const ParamGroup& pg = groups_[g];
    for (size_t i = 0; i < pg.params.size(); ++i) {
      if (!check_param(g, i, device, device_set)) continue;
      const Tensor& p = pg.params[i];
      ParamState& st = state(g, i);
      kernels::SgdEntry e;
      e.param = p.data<float>();
      e.grad = p.grad().data<float>();
      e.numel = p.numel();
      e.h.lr = static_cast<float>(pg.lr);
      e.h.weight_decay = static_cast<float>(pg.weight_decay);
      e.h.momentum = static_cast<float>(pg.momentum);
      e.h.one_minus_dampening = static_cast<float>(1.0 - pg.dampening);
      e.h.bn_lambda = pg.sparsity_on(i) ? static_cast<float>(pg.bn_sparsity_lambda) : 0.f;
      e.h.nesterov = pg.nesterov;
      e.h.maximize = pg.maximize;
      if (pg.momentum != 0) {
        auto it = st.buffers.find("momentum_buffer");
        e.h.first = it == st.buffers.end();
        if (e.h.first)
          it = st.buffers
                   .emplace("momentum_buffer", Tensor::empty(p.shape(), DType::f32, p.device()))
                   .first;
        e.state0 = it->second.data<float>();
      }
      ++st.step;
      if (e.numel > 0) entries.push_back(e);
    }
  }
  if (entries.empty()) return;
  kernels::sgd_step_stub(device, "SGD")(device, entries);
}

}  // namespace detforge::nn

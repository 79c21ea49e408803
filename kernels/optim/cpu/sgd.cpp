// CPU fused SGD step: one parallel loop over all tensors' chunks, element math from sgd.h.
#include "kernels/optim/sgd.h"
#include "kernels/optim/cpu/multi_tensor_cpu.h"

namespace detforge::kernels {
namespace {

void sgd_step_cpu(Device, const std::vector<SgdEntry>& entries) {
  multi_tensor_for(entries, [](const SgdEntry& e, int64_t b, int64_t end) {
    float* DETFORGE_RESTRICT p = e.param;
    const float* DETFORGE_RESTRICT g = e.grad;
    const SgdHyper h = e.h;
    if (h.momentum != 0.f) {
      float* DETFORGE_RESTRICT buf = e.state0;
      for (int64_t i = b; i < end; ++i) sgd_update(p[i], g[i], buf[i], h);
    } else {
      for (int64_t i = b; i < end; ++i) {
        float unused = 0.f;
        sgd_update(p[i], g[i], unused, h);
      }
    }
  });
}

}  // namespace
DF_REGISTER_DISPATCH(sgd_step_stub, CPU, &sgd_step_cpu);
}  // namespace detforge::kernels

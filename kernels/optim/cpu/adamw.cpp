// CPU fused AdamW step: one parallel loop over all tensors' chunks, element math from adamw.h.
#include "kernels/optim/adamw.h"
#include "kernels/optim/cpu/multi_tensor_cpu.h"

namespace detforge::kernels {
namespace {

void adamw_step_cpu(Device, const std::vector<AdamWEntry>& entries) {
  multi_tensor_for(entries, [](const AdamWEntry& e, int64_t b, int64_t end) {
    float* DETFORGE_RESTRICT p = e.param;
    const float* DETFORGE_RESTRICT g = e.grad;
    float* DETFORGE_RESTRICT m = e.state0;
    float* DETFORGE_RESTRICT v = e.state1;
    const AdamWHyper h = e.h;
    if (h.amsgrad) {
      float* DETFORGE_RESTRICT vmax = e.state2;
      for (int64_t i = b; i < end; ++i) adamw_update(p[i], g[i], m[i], v[i], vmax[i], h);
    } else {
      for (int64_t i = b; i < end; ++i) {
        float unused = 0.f;
        adamw_update(p[i], g[i], m[i], v[i], unused, h);
      }
    }
  });
}

}  // namespace
DF_REGISTER_DISPATCH(adamw_step_stub, CPU, &adamw_step_cpu);
}  // namespace detforge::kernels

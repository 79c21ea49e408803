// CUDA fused AdamW step: one launch over all parameters, element math from adamw.h.
#include "kernels/optim/adamw.h"
#include "kernels/optim/cuda/multi_tensor.cuh"

namespace detforge::kernels {
namespace {

struct AdamWOp {
  __device__ void operator()(const AdamWEntry& e, int64_t i) const {
    float p = e.param[i], g = e.grad[i], m = e.state0[i], v = e.state1[i];
    float vmax = e.h.amsgrad ? e.state2[i] : 0.f;
    adamw_update(p, g, m, v, vmax, e.h);
    e.param[i] = p;
    e.state0[i] = m;
    e.state1[i] = v;
    if (e.h.amsgrad) e.state2[i] = vmax;
  }
};

void adamw_step_cuda(Device device, const std::vector<AdamWEntry>& entries) {
  launch_multi_tensor(device, entries, AdamWOp{});
}

}  // namespace
DF_REGISTER_DISPATCH(adamw_step_stub, CUDA, &adamw_step_cuda);
}  // namespace detforge::kernels

// CUDA fused SGD step: one launch over all parameters, element math from sgd.h.
#include "kernels/optim/cuda/multi_tensor.cuh"
#include "kernels/optim/sgd.h"

namespace detforge::kernels {
namespace {

struct SgdOp {
  __device__ void operator()(const SgdEntry& e, int64_t i) const {
    float p = e.param[i];
    float g = e.grad[i];
    if (e.h.momentum != 0.f) {
      float buf = e.h.first ? 0.f : e.state0[i];
      sgd_update(p, g, buf, e.h);
      e.state0[i] = buf;
    } else {
      float unused = 0.f;
      sgd_update(p, g, unused, e.h);
    }
    e.param[i] = p;
  }
};

void sgd_step_cuda(Device device, const std::vector<SgdEntry>& entries) {
  launch_multi_tensor(device, entries, SgdOp{});
}

}  // namespace
DF_REGISTER_DISPATCH(sgd_step_stub, CUDA, &sgd_step_cuda);
}  // namespace detforge::kernels

// CUDA device discovery. Any error from the runtime (no driver, insufficient driver, no device)
// means "no GPU": cuda_available() is false and the reason is kept for test skips.
#include <cuda_runtime.h>

#include <string>

#include "tensor/device.h"

namespace detforge {
namespace {

struct CudaProbe {
  int count = 0;
  std::string reason;
};

const CudaProbe& probe() {
  static const CudaProbe p = [] {
    CudaProbe r;
    int n = 0;
    cudaError_t err = cudaGetDeviceCount(&n);
    if (err != cudaSuccess) {
      r.reason = std::string("CUDA runtime reports ") + cudaGetErrorName(err) + " (" +
                 cudaGetErrorString(err) + ")";
      cudaGetLastError();  // clear the runtime error state so later calls do not see it
      return r;
    }
    if (n <= 0) {
      r.reason = "no CUDA device found";
      return r;
    }
    r.count = n;
    return r;
  }();
  return p;
}

}  // namespace

bool cuda_available() {
  return probe().count > 0;
}
int cuda_device_count() {
  return probe().count;
}
std::string cuda_unavailable_reason() {
  const CudaProbe& p = probe();
  return p.count > 0 ? std::string() : p.reason;
}

}  // namespace detforge

// CPU-only build: the CUDA allocator's entry points throw (tensor/cuda/cuda_allocator.cpp).
#include "tensor/cuda_allocator.h"

#include "tensor/error.h"

namespace detforge {

#ifndef DETFORGE_WITH_CUDA
namespace {
[[noreturn]] void no_cuda(Device device) {
  throw DeviceError("[cuda allocator] no CUDA implementation in this build (device " +
                    device.str() + ")");
}
}  // namespace
CudaMemoryStats cuda_memory_stats(Device device) {
  no_cuda(device);
}
void cuda_empty_cache(Device device) {
  no_cuda(device);
}
void cuda_reset_peak(Device device) {
  no_cuda(device);
}
#endif

}  // namespace detforge

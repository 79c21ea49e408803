#include "tensor/allocator.h"

#include <cstdlib>
#include <new>

#include "tensor/error.h"

namespace detforge {

std::shared_ptr<void> cpu_allocate(size_t nbytes) {
  // aligned_alloc needs a size that is a multiple of the alignment; 0 bytes still gets a pointer.
  size_t rounded = (nbytes + kCpuAlignment - 1) / kCpuAlignment * kCpuAlignment;
  if (rounded == 0) rounded = kCpuAlignment;
  void* p = std::aligned_alloc(kCpuAlignment, rounded);
  if (!p) throw Error(str_cat("[cpu allocator] out of memory allocating ", nbytes, " bytes"));
  return std::shared_ptr<void>(p, [](void* q) { std::free(q); });
}

std::shared_ptr<void> allocate(size_t nbytes, Device device) {
  if (device.is_cpu()) return cpu_allocate(nbytes);
  return cuda_allocate(nbytes, device);
}

#ifndef DETFORGE_WITH_CUDA
std::shared_ptr<void> cuda_allocate(size_t, Device device) {
  throw DeviceError("[cuda allocator] no CUDA implementation in this build (device " + device.str() + ")");
}
#endif

}  // namespace detforge

#include "tensor/allocator.h"

#include <cstdlib>
#include <new>
#include <string>

#include "tensor/caching_allocator.h"
#include "tensor/error.h"

namespace detforge {

namespace {
void* aligned_backend_alloc(size_t nbytes, void*) {
  return std::aligned_alloc(kCpuAlignment, (nbytes + kCpuAlignment - 1) / kCpuAlignment * kCpuAlignment);
}
void aligned_backend_free(void* p, size_t, void*) { std::free(p); }

// Large host blocks go through the caching allocator: glibc returns blocks above its mmap threshold
// (at most 32 MiB) to the OS on free, so a training step re-faulting every fresh activation costs
// more than the kernels (measured: a 64 MiB add ran at a quarter of the copy bandwidth).
// DETFORGE_CPU_CACHE=0 disables it. Leaked on purpose: tensors may outlive static destructors.
CachingAllocator* large_block_cache() {
  static CachingAllocator* cache = [] {
    const char* env = std::getenv("DETFORGE_CPU_CACHE");
    if (env && std::string(env) == "0") return static_cast<CachingAllocator*>(nullptr);
    return new CachingAllocator(AllocatorBackend{&aligned_backend_alloc, &aligned_backend_free, nullptr}, 0,
                                "cpu caching allocator");
  }();
  return cache;
}
}  // namespace

std::shared_ptr<void> cpu_allocate(size_t nbytes) {
  if (nbytes >= kCpuCacheThreshold) {
    if (CachingAllocator* cache = large_block_cache()) {
      void* p = cache->allocate(nbytes);
      return std::shared_ptr<void>(p, [cache](void* q) { cache->free(q); });
    }
  }
  // aligned_alloc needs a size that is a multiple of the alignment; 0 bytes still gets a pointer.
  size_t rounded = (nbytes + kCpuAlignment - 1) / kCpuAlignment * kCpuAlignment;
  if (rounded == 0) rounded = kCpuAlignment;
  void* p = std::aligned_alloc(kCpuAlignment, rounded);
  if (!p) throw Error(str_cat("[cpu allocator] out of memory allocating ", nbytes, " bytes"));
  return std::shared_ptr<void>(p, [](void* q) { std::free(q); });
}

void cpu_empty_cache() {
  if (CachingAllocator* cache = large_block_cache()) cache->empty_cache();
}

CachingAllocatorStats cpu_cache_stats() {
  CachingAllocator* cache = large_block_cache();
  return cache ? cache->stats() : CachingAllocatorStats{};
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

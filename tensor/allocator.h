// Allocators: 64-byte aligned host memory and the CUDA caching allocator's public face.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>

#include "tensor/device.h"

namespace detforge {

constexpr size_t kCpuAlignment = 64;
// Host blocks of at least this size are cached (tensor/caching_allocator.h) instead of going back
// to the OS; smaller ones use aligned_alloc/free directly.
constexpr size_t kCpuCacheThreshold = 1 << 20;
struct CachingAllocatorStats;

// Memory owned by a shared_ptr whose deleter returns it to the allocator that gave it.
DETFORGE_API std::shared_ptr<void> cpu_allocate(size_t nbytes);
// Returns the cached large host blocks to the OS; stats of that cache (zeros when disabled).
DETFORGE_API void cpu_empty_cache();
DETFORGE_API CachingAllocatorStats cpu_cache_stats();
// Stream-ordered caching allocation on the current stream of `device` (tensor/cuda_allocator.h).
DETFORGE_API std::shared_ptr<void> cuda_allocate(size_t nbytes, Device device);
DETFORGE_API std::shared_ptr<void> allocate(size_t nbytes, Device device);

}  // namespace detforge

// Allocators: 64-byte aligned host memory and the CUDA caching allocator's public face.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>

#include "tensor/device.h"

namespace detforge {

constexpr size_t kCpuAlignment = 64;

// Memory owned by a shared_ptr whose deleter returns it to the allocator that gave it.
DETFORGE_API std::shared_ptr<void> cpu_allocate(size_t nbytes);
// Stream-ordered caching allocation on the current stream of `device` (tensor/cuda_allocator.h).
DETFORGE_API std::shared_ptr<void> cuda_allocate(size_t nbytes, Device device);
DETFORGE_API std::shared_ptr<void> allocate(size_t nbytes, Device device);

}  // namespace detforge

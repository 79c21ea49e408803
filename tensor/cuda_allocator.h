// Public face of the CUDA caching allocator (one tensor/caching_allocator.h instance per device,
// backed by cudaMalloc/cudaFree). No CUDA headers here.
//
// Blocks are stream-ordered: a block is reused only by allocations on the stream it was allocated
// on (the device's current stream at allocation time). If a tensor's memory is used on another
// stream, the user must make the allocating stream wait for that work (Event::record on the other
// stream, Event::block on the allocating one) before the tensor is released; the allocator does
// not track cross-stream uses.
//
// DETFORGE_CUDA_MEMORY_LIMIT (bytes, K/M/G suffix accepted) caps the bytes reserved per device.
#pragma once
#include <cstddef>
#include <cstdint>

#include "tensor/device.h"

namespace detforge {

struct CudaMemoryStats {
  int64_t allocations = 0;  // allocation requests served
  int64_t frees = 0;
  int64_t cuda_mallocs = 0;  // cudaMalloc calls (zero in a warmed-up steady state)
  int64_t cuda_frees = 0;
  size_t bytes_in_use = 0;
  size_t peak_bytes_in_use = 0;
  size_t bytes_cached = 0;  // reserved from the driver but free
  size_t bytes_reserved = 0;
  size_t limit = 0;  // 0 = none
};

DETFORGE_API CudaMemoryStats cuda_memory_stats(Device device);
DETFORGE_API void cuda_empty_cache(Device device);
DETFORGE_API void cuda_reset_peak(Device device);

}  // namespace detforge

// The CUDA caching allocator: one CachingAllocator per device over cudaMalloc/cudaFree, blocks
// keyed by the device's current stream (stream-ordered reuse; see tensor/cuda_allocator.h for the
// cross-stream rule).
#include <cuda_runtime.h>

#include <cstdlib>
#include <mutex>

#include "tensor/allocator.h"
#include "tensor/caching_allocator.h"
#include "tensor/cuda/cuda_check.h"
#include "tensor/cuda_allocator.h"

namespace detforge {
namespace {

constexpr int kMaxDevices = 64;

class DeviceScope {
 public:
  explicit DeviceScope(int device) {
    DF_CUDA_CHECK(cudaGetDevice(&prev_));
    changed_ = prev_ != device;
    if (changed_) DF_CUDA_CHECK(cudaSetDevice(device));
  }
  ~DeviceScope() {
    if (changed_) cudaSetDevice(prev_);
  }

 private:
  int prev_ = 0;
  bool changed_ = false;
};

void* cuda_backend_alloc(size_t nbytes, void* ctx) {
  DeviceScope scope(static_cast<int>(reinterpret_cast<intptr_t>(ctx)));
  void* p = nullptr;
  cudaError_t err = cudaMalloc(&p, nbytes);
  if (err == cudaErrorMemoryAllocation) {
    cudaGetLastError();  // clear it: the allocator frees its cache and retries
    return nullptr;
  }
  DF_CUDA_CHECK(err);
  return p;
}

void cuda_backend_free(void* ptr, size_t, void* ctx) {
  DeviceScope scope(static_cast<int>(reinterpret_cast<intptr_t>(ctx)));
  // cudaFree synchronises the device; it runs only in empty_cache() or when a new segment
  // would cross the memory limit, never in a warmed-up steady state.
  DF_CUDA_CHECK(cudaFree(ptr));
}

size_t limit_from_env() {
  const char* v = std::getenv("DETFORGE_CUDA_MEMORY_LIMIT");
  if (!v || !*v) return 0;
  return parse_memory_size(v);
}

CachingAllocator& allocator_for(Device device) {
  DF_CHECK(device.is_cuda() && device.index >= 0 && device.index < kMaxDevices, DeviceError,
           "[cuda allocator] invalid device ", device.str());
  DF_CHECK(cuda_available(), DeviceError, "[cuda allocator] no usable GPU for ", device.str(), ": ",
           cuda_unavailable_reason());
  DF_CHECK(device.index < cuda_device_count(), DeviceError, "[cuda allocator] device ",
           device.str(), " does not exist (", cuda_device_count(), " devices)");
  // Never destroyed: tensors released by static destructors at exit still return their blocks.
  static CachingAllocator* allocators[kMaxDevices] = {};
  static std::once_flag flags[kMaxDevices];
  int i = device.index;
  std::call_once(flags[i], [&] {
    AllocatorBackend backend;
    backend.alloc = &cuda_backend_alloc;
    backend.free = &cuda_backend_free;
    backend.ctx = reinterpret_cast<void*>(static_cast<intptr_t>(i));
    allocators[i] =
        new CachingAllocator(backend, limit_from_env(), "cuda allocator " + device.str());
  });
  return *allocators[i];
}

}  // namespace

std::shared_ptr<void> cuda_allocate(size_t nbytes, Device device) {
  CachingAllocator& a = allocator_for(device);
  void* stream = cuda::current_stream(device.index);
  void* p = a.allocate(nbytes, stream);
  return std::shared_ptr<void>(p, [&a](void* q) { a.free(q); });
}

CudaMemoryStats cuda_memory_stats(Device device) {
  CachingAllocatorStats s = allocator_for(device).stats();
  CudaMemoryStats r;
  r.allocations = s.allocations;
  r.frees = s.frees;
  r.cuda_mallocs = s.backend_allocs;
  r.cuda_frees = s.backend_frees;
  r.bytes_in_use = s.bytes_in_use;
  r.peak_bytes_in_use = s.peak_bytes_in_use;
  r.bytes_cached = s.bytes_cached;
  r.bytes_reserved = s.bytes_reserved;
  r.limit = s.limit;
  return r;
}

void cuda_empty_cache(Device device) {
  allocator_for(device).empty_cache();
}
void cuda_reset_peak(Device device) {
  allocator_for(device).reset_peak();
}

}  // namespace detforge

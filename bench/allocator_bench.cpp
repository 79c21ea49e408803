// Caching allocator cost per alloc/free pair: the generic allocator over a fake malloc backend
// (CPU; measures the caching logic) and the CUDA allocator through cuda_allocate (GPU only).
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <vector>

#include "tensor/allocator.h"
#include "tensor/caching_allocator.h"
#include "tensor/cuda_allocator.h"

namespace detforge {
namespace {

void* fake_alloc(size_t n, void*) {
  return std::malloc(n);
}
void fake_free(void* p, size_t, void*) {
  std::free(p);
}

// range(0): bytes per allocation; range(1): live allocations per step.
void BM_CachingAllocatorFake(benchmark::State& st) {
  CachingAllocator a(AllocatorBackend{&fake_alloc, &fake_free, nullptr});
  size_t bytes = static_cast<size_t>(st.range(0));
  int live = static_cast<int>(st.range(1));
  std::vector<void*> ptrs(live);
  for (auto _ : st) {
    for (int i = 0; i < live; ++i) ptrs[i] = a.allocate(bytes + 512 * i, nullptr);
    for (int i = 0; i < live; ++i) a.free(ptrs[i]);
  }
  st.counters["time_per_op"] =
      benchmark::Counter(static_cast<double>(st.iterations()) * live * 2,
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  st.counters["backend_allocs"] = static_cast<double>(a.stats().backend_allocs);
}
BENCHMARK(BM_CachingAllocatorFake)->Args({4096, 16})->Args({1 << 20, 16})->Args({16 << 20, 4});

void BM_CudaCachingAllocator(benchmark::State& st) {
  if (!cuda_available()) {
    st.SkipWithError(("no usable GPU: " + cuda_unavailable_reason()).c_str());
    return;
  }
  Device dev = cuda_device(0);
  size_t bytes = static_cast<size_t>(st.range(0));
  int live = static_cast<int>(st.range(1));
  std::vector<std::shared_ptr<void>> ptrs(live);
  for (int i = 0; i < live; ++i) ptrs[i] = cuda_allocate(bytes + 512 * i, dev);  // warm-up
  ptrs.assign(live, nullptr);
  int64_t mallocs_before = cuda_memory_stats(dev).cuda_mallocs;
  for (auto _ : st) {
    for (int i = 0; i < live; ++i) ptrs[i] = cuda_allocate(bytes + 512 * i, dev);
    for (int i = 0; i < live; ++i) ptrs[i].reset();
  }
  st.counters["time_per_op"] =
      benchmark::Counter(static_cast<double>(st.iterations()) * live * 2,
                         benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
  st.counters["cuda_mallocs"] =
      static_cast<double>(cuda_memory_stats(dev).cuda_mallocs - mallocs_before);
}
BENCHMARK(BM_CudaCachingAllocator)->Args({4096, 16})->Args({1 << 20, 16})->Args({16 << 20, 4});

}  // namespace
}  // namespace detforge

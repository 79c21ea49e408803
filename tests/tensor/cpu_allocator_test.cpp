// Host allocation: 64-byte alignment, and large blocks reused from the cache in a steady loop.
#include <gtest/gtest.h>

#include <cstdlib>
#include <cstdint>

#include "autograd/elementwise.h"
#include "tensor/caching_allocator.h"
#include "tensor/tensor.h"

namespace detforge {
namespace {

TEST(CpuAllocator, SmallAndLargeBlocksAre64ByteAligned) {
  for (int64_t n : {1, 3, 1000, 300000, 5000000}) {
    Tensor t = Tensor::empty({n});
    EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data_ptr()) % kCpuAlignment, 0u) << n;
  }
}

TEST(CpuAllocator, SteadyLoopOfLargeTensorsMakesNoNewBackendAllocations) {
  if (const char* e = std::getenv("DETFORGE_CPU_CACHE"); e && std::string(e) == "0")
    GTEST_SKIP() << "DETFORGE_CPU_CACHE=0 disables the host cache";
  {
    Tensor a = Tensor::full({1 << 20}, 1.0), b = Tensor::full({1 << 20}, 2.0);
    for (int i = 0; i < 3; ++i) (void)add(a, b);  // warm-up
    int64_t before = cpu_cache_stats().backend_allocs;
    for (int i = 0; i < 20; ++i) {
      Tensor c = add(a, b);
      ASSERT_EQ(c.to_vector<float>()[12345], 3.f);
    }
    EXPECT_EQ(cpu_cache_stats().backend_allocs, before);
  }
  size_t cached = cpu_cache_stats().bytes_cached;
  EXPECT_GT(cached, 0u);
  int64_t frees = cpu_cache_stats().backend_frees;
  cpu_empty_cache();
  EXPECT_LT(cpu_cache_stats().bytes_cached, cached);
  EXPECT_GT(cpu_cache_stats().backend_frees, frees);
}

}  // namespace
}  // namespace detforge

// The caching allocator's logic on CPU, over a fake malloc backend that counts calls.
#include <gtest/gtest.h>

#include <cstdlib>
#include <set>
#include <vector>

#include "tensor/caching_allocator.h"
#include "tensor/error.h"

namespace detforge {
namespace {

struct FakeBackend {
  int64_t allocs = 0, frees = 0;
  size_t live_bytes = 0;
  size_t fail_above = 0;  // simulate device memory: alloc returns null past this many live bytes
  std::set<void*> live;

  static void* alloc(size_t n, void* ctx) {
    auto* f = static_cast<FakeBackend*>(ctx);
    if (f->fail_above && f->live_bytes + n > f->fail_above) return nullptr;
    void* p = std::malloc(n);
    ++f->allocs;
    f->live_bytes += n;
    f->live.insert(p);
    return p;
  }
  static void free(void* p, size_t n, void* ctx) {
    auto* f = static_cast<FakeBackend*>(ctx);
    EXPECT_EQ(f->live.erase(p), 1u) << "backend free of an unknown pointer";
    ++f->frees;
    f->live_bytes -= n;
    std::free(p);
  }
  AllocatorBackend backend() {
    return AllocatorBackend{&FakeBackend::alloc, &FakeBackend::free, this};
  }
};

void* const kStreamA = reinterpret_cast<void*>(0x1);
void* const kStreamB = reinterpret_cast<void*>(0x2);

TEST(CachingAllocator, RoundsTo512) {
  EXPECT_EQ(CachingAllocator::round_size(0), 512u);
  EXPECT_EQ(CachingAllocator::round_size(1), 512u);
  EXPECT_EQ(CachingAllocator::round_size(512), 512u);
  EXPECT_EQ(CachingAllocator::round_size(513), 1024u);
}

TEST(CachingAllocator, SteadyStateLoopMakesNoBackendAllocs) {
  FakeBackend fb;
  {
    CachingAllocator a(fb.backend());
    const std::vector<size_t> sizes = {100, 4096, 70000, 3 << 20, 12 << 20, 512, 1 << 20};
    auto step = [&] {
      std::vector<void*> ptrs;
      for (size_t s : sizes) ptrs.push_back(a.allocate(s, kStreamA));
      for (size_t i = 0; i < ptrs.size(); i += 2) a.free(ptrs[i]);  // interleaved frees
      for (size_t i = 1; i < ptrs.size(); i += 2) a.free(ptrs[i]);
    };
    step();  // warm-up
    int64_t after_warmup = fb.allocs;
    EXPECT_GT(after_warmup, 0);
    for (int i = 0; i < 100; ++i) step();
    EXPECT_EQ(fb.allocs, after_warmup);
    CachingAllocatorStats s = a.stats();
    EXPECT_EQ(s.backend_allocs, after_warmup);
    EXPECT_EQ(s.allocations, 101 * static_cast<int64_t>(sizes.size()));
    EXPECT_EQ(s.frees, s.allocations);
    EXPECT_EQ(s.bytes_in_use, 0u);
    EXPECT_EQ(s.bytes_cached, s.bytes_reserved);
    EXPECT_EQ(s.bytes_reserved, fb.live_bytes);
  }
  EXPECT_EQ(fb.live_bytes, 0u);  // the destructor returned the cache
}

TEST(CachingAllocator, SplitsAndMergesSmallSegment) {
  FakeBackend fb;
  CachingAllocator a(fb.backend());
  void* p1 = a.allocate(1000, kStreamA);
  void* p2 = a.allocate(1000, kStreamA);
  EXPECT_EQ(fb.allocs, 1);  // both in one 2 MiB small segment
  EXPECT_EQ(static_cast<char*>(p2) - static_cast<char*>(p1), 1024);
  EXPECT_EQ(a.stats().bytes_in_use, 2048u);
  EXPECT_EQ(a.stats().bytes_reserved, CachingAllocator::kSmallSegment);
  a.free(p1);
  a.free(p2);
  // Merged back into one free block: a 1 MiB request fits without a new backend alloc.
  void* p3 = a.allocate(1 << 20, kStreamA);
  EXPECT_EQ(p3, p1);
  EXPECT_EQ(fb.allocs, 1);
  a.free(p3);
}

TEST(CachingAllocator, SplitsLargeBlocksBestFit) {
  FakeBackend fb;
  CachingAllocator a(fb.backend());
  void* big = a.allocate(20 << 20, kStreamA);  // 20 MiB segment
  a.free(big);
  void* x = a.allocate(5 << 20, kStreamA);  // split: 5 MiB + 15 MiB remainder
  void* y = a.allocate(8 << 20, kStreamA);  // from the remainder
  EXPECT_EQ(fb.allocs, 1);
  EXPECT_EQ(x, big);
  EXPECT_EQ(static_cast<char*>(y) - static_cast<char*>(x), 5 << 20);
  // Remainder (7 MiB) is too small for 9 MiB: a new segment.
  void* z = a.allocate(9 << 20, kStreamA);
  EXPECT_EQ(fb.allocs, 2);
  a.free(x);
  a.free(y);
  a.free(z);
  // After merging, best fit: a 9 MiB request takes the 10 MiB segment, not the 20 MiB one.
  void* w = a.allocate(9 << 20, kStreamA);
  EXPECT_EQ(w, z);
  a.free(w);
  EXPECT_EQ(a.stats().bytes_in_use, 0u);
}

TEST(CachingAllocator, StreamsDoNotShareBlocks) {
  FakeBackend fb;
  CachingAllocator a(fb.backend());
  void* p = a.allocate(3 << 20, kStreamA);
  a.free(p);
  void* q = a.allocate(3 << 20, kStreamB);  // must not reuse stream A's block
  EXPECT_NE(p, q);
  EXPECT_EQ(fb.allocs, 2);
  a.free(q);
  void* r = a.allocate(3 << 20, kStreamA);  // stream A's block is back in A's pool
  EXPECT_EQ(r, p);
  void* s = a.allocate(100, kStreamA);
  void* t = a.allocate(100, kStreamB);
  EXPECT_EQ(fb.allocs, 4);  // one small segment per stream
  a.free(r);
  a.free(s);
  a.free(t);
}

TEST(CachingAllocator, EmptyCacheAndStats) {
  FakeBackend fb;
  CachingAllocator a(fb.backend());
  void* p = a.allocate(4 << 20, kStreamA);
  void* q = a.allocate(1 << 10, kStreamA);
  CachingAllocatorStats s = a.stats();
  EXPECT_EQ(s.bytes_in_use, (4u << 20) + 1024u);
  EXPECT_EQ(s.peak_bytes_in_use, s.bytes_in_use);
  EXPECT_EQ(s.segments, 2);
  a.free(p);
  s = a.stats();
  EXPECT_EQ(s.bytes_in_use, 1024u);
  EXPECT_EQ(s.peak_bytes_in_use, (4u << 20) + 1024u);
  EXPECT_EQ(s.bytes_cached, s.bytes_reserved - 1024u);
  a.empty_cache();  // frees the large segment; the small one is still partly used
  s = a.stats();
  EXPECT_EQ(s.backend_frees, 1);
  EXPECT_EQ(s.bytes_reserved, CachingAllocator::kSmallSegment);
  a.reset_peak();
  EXPECT_EQ(a.stats().peak_bytes_in_use, 1024u);
  a.free(q);
  a.empty_cache();
  s = a.stats();
  EXPECT_EQ(s.bytes_reserved, 0u);
  EXPECT_EQ(s.segments, 0);
  EXPECT_EQ(fb.live_bytes, 0u);
  EXPECT_THROW(a.free(reinterpret_cast<void*>(0x1234)), Error);
}

TEST(CachingAllocator, LimitFreesCacheThenThrows) {
  FakeBackend fb;
  CachingAllocator a(fb.backend(), 8 << 20);
  void* p = a.allocate(4 << 20, kStreamA);
  a.free(p);  // 4 MiB cached
  // 6 MiB does not fit beside the 4 MiB cached segment: the cache is freed and the request served.
  void* q = a.allocate(6 << 20, kStreamA);
  EXPECT_EQ(fb.frees, 1);
  EXPECT_LE(a.stats().bytes_reserved, 8u << 20);
  try {
    a.allocate(4 << 20, kStreamA);
    FAIL() << "must exceed the limit";
  } catch (const OutOfMemoryError& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("4194304"), std::string::npos) << m;  // requested
    EXPECT_NE(m.find("in use 6291456"), std::string::npos) << m;
    EXPECT_NE(m.find("cached 0"), std::string::npos) << m;
    EXPECT_NE(m.find("limit 8388608"), std::string::npos) << m;
  }
  a.free(q);
}

TEST(CachingAllocator, BackendFailureRetriesAfterFreeingCache) {
  FakeBackend fb;
  fb.fail_above = 16 << 20;
  CachingAllocator a(fb.backend());
  void* p = a.allocate(12 << 20, kStreamA);
  a.free(p);
  void* q = a.allocate(14 << 20, kStreamA);  // backend fails first, cache is freed, retry succeeds
  EXPECT_EQ(fb.frees, 1);
  EXPECT_THROW(a.allocate(4 << 20, kStreamA), OutOfMemoryError);
  a.free(q);
}

TEST(CachingAllocator, ParsesMemorySizes) {
  EXPECT_EQ(parse_memory_size("1024"), 1024u);
  EXPECT_EQ(parse_memory_size("512K"), 512u << 10);
  EXPECT_EQ(parse_memory_size("64M"), 64u << 20);
  EXPECT_EQ(parse_memory_size("2G"), 2ull << 30);
  EXPECT_EQ(parse_memory_size("3mib"), 3u << 20);
  EXPECT_THROW(parse_memory_size("lots"), ConfigError);
  EXPECT_THROW(parse_memory_size("5X"), ConfigError);
}

}  // namespace
}  // namespace detforge

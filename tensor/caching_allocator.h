// A stream-ordered caching allocator over any backend (cudaMalloc/cudaFree for CUDA; a fake malloc
// backend in tests and benchmarks). Device-independent so its logic is tested on CPU.
//
// Policy:
// - Sizes are rounded up to 512 bytes. Requests <= 1 MiB come from the small pool (2 MiB segments
//   split into blocks); larger ones from the large pool (segments of the rounded size, rounded to
//   2 MiB below 10 MiB). A free block larger than the request is split when the remainder is worth
//   keeping (>= 512 B in the small pool, > 1 MiB in the large pool).
// - Every block belongs to the stream it was allocated on. A freed block returns to that stream's
//   pool and is reused only by allocations on the same stream, so stream order makes reuse safe
//   without any synchronisation. Using a block on another stream is the user's business: they must
//   make the allocating stream wait for that work (Event::block) before the block is freed, or
//   the memory may be handed out again while the other stream still reads or writes it.
// - Neighbouring free blocks of one segment are merged on free; empty_cache() returns whole free
//   segments to the backend.
// - With a limit, bytes reserved from the backend never exceed it: when a new segment would cross
//   it, the cache is emptied and the allocation retried; then OutOfMemoryError names the request,
//   the bytes in use, cached and the limit. A backend failure (nullptr) is handled the same way.
#pragma once
#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>

#include "tensor/macros.h"

namespace detforge {

struct AllocatorBackend {
  // Returns nullptr when out of memory; may throw for other errors.
  void* (*alloc)(size_t nbytes, void* ctx) = nullptr;
  void (*free)(void* ptr, size_t nbytes, void* ctx) = nullptr;
  void* ctx = nullptr;
};

struct CachingAllocatorStats {
  int64_t allocations = 0;     // allocate() calls
  int64_t frees = 0;           // free() calls
  int64_t backend_allocs = 0;  // backend alloc calls (cudaMalloc)
  int64_t backend_frees = 0;   // backend free calls (cudaFree)
  int64_t segments = 0;        // backend allocations currently held
  size_t bytes_in_use = 0;     // rounded sizes of live blocks
  size_t peak_bytes_in_use = 0;
  size_t bytes_cached = 0;    // reserved but not in use
  size_t bytes_reserved = 0;  // held from the backend (in use + cached)
  size_t limit = 0;           // 0 = none
};

class DETFORGE_API CachingAllocator {
 public:
  static constexpr size_t kRound = 512;
  static constexpr size_t kSmallSize = 1 << 20;     // <= 1 MiB: small pool
  static constexpr size_t kSmallSegment = 2 << 20;  // small pool segment
  static constexpr size_t kLargeRound = 2 << 20;    // large segments below kLargeRoundLimit
  static constexpr size_t kLargeRoundLimit = 10 << 20;

  explicit CachingAllocator(AllocatorBackend backend, size_t limit = 0,
                            std::string name = "caching allocator");
  ~CachingAllocator();  // returns cached segments; live blocks are leaked (their owners outlive us)
  CachingAllocator(const CachingAllocator&) = delete;
  CachingAllocator& operator=(const CachingAllocator&) = delete;

  // A block of at least `nbytes` usable on `stream` (any opaque handle; null is a valid stream).
  void* allocate(size_t nbytes, void* stream = nullptr);
  // Returns a block to its stream's pool. Unknown pointers throw.
  void free(void* ptr);
  void empty_cache();
  CachingAllocatorStats stats() const;
  void reset_peak();
  void set_limit(size_t limit);
  static size_t round_size(size_t nbytes);

 private:
  struct Block;
  struct BlockLess {
    bool operator()(const Block* a, const Block* b) const;
  };
  using Pool = std::set<Block*, BlockLess>;

  Block* find_free(Pool& pool, size_t size, void* stream);
  Block* new_segment(size_t size, void* stream, bool small, size_t request);
  void release_free_segments();  // caller holds the lock
  std::string oom_message(size_t request, size_t segment, const char* why) const;

  AllocatorBackend backend_;
  std::string name_;
  mutable std::mutex mu_;
  Pool small_, large_;
  std::unordered_map<void*, Block*> live_;
  CachingAllocatorStats stats_;
};

// Parses "1048576", "512K", "64M", "2G" (also "KB", "MiB", ...; powers of 1024). Throws
// ConfigError.
DETFORGE_API size_t parse_memory_size(const std::string& s);

}  // namespace detforge

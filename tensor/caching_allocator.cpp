#include "tensor/caching_allocator.h"

#include <cctype>
#include <vector>

#include "tensor/error.h"

namespace detforge {

struct CachingAllocator::Block {
  void* ptr = nullptr;
  size_t size = 0;
  void* stream = nullptr;
  bool small = false;
  bool allocated = false;
  Block* prev = nullptr;  // neighbours within one backend segment
  Block* next = nullptr;
};

bool CachingAllocator::BlockLess::operator()(const Block* a, const Block* b) const {
  if (a->stream != b->stream)
    return reinterpret_cast<uintptr_t>(a->stream) < reinterpret_cast<uintptr_t>(b->stream);
  if (a->size != b->size) return a->size < b->size;
  return reinterpret_cast<uintptr_t>(a->ptr) < reinterpret_cast<uintptr_t>(b->ptr);
}

CachingAllocator::CachingAllocator(AllocatorBackend backend, size_t limit, std::string name)
    : backend_(backend), name_(std::move(name)) {
  DF_CHECK(backend_.alloc && backend_.free, ConfigError, "[", name_,
           "] backend without alloc/free");
  stats_.limit = limit;
}

CachingAllocator::~CachingAllocator() {
  std::lock_guard<std::mutex> lock(mu_);
  release_free_segments();
  // Split blocks of partly used segments stay with their segment; free their bookkeeping only
  // when the segment is wholly free (done above). Live blocks are intentionally leaked.
}

size_t CachingAllocator::round_size(size_t nbytes) {
  if (nbytes == 0) return kRound;
  return (nbytes + kRound - 1) / kRound * kRound;
}

CachingAllocator::Block* CachingAllocator::find_free(Pool& pool, size_t size, void* stream) {
  Block key;
  key.stream = stream;
  key.size = size;
  key.ptr = nullptr;
  auto it = pool.lower_bound(&key);
  if (it == pool.end() || (*it)->stream != stream) return nullptr;
  Block* b = *it;
  pool.erase(it);
  return b;
}

std::string CachingAllocator::oom_message(size_t request, size_t segment, const char* why) const {
  return str_cat("[", name_, "] out of memory: ", why, " allocating ", request, " bytes (segment ",
                 segment, " bytes); in use ", stats_.bytes_in_use, " bytes, cached ",
                 stats_.bytes_cached, " bytes, reserved ", stats_.bytes_reserved, " bytes, limit ",
                 stats_.limit ? std::to_string(stats_.limit) + " bytes" : std::string("none"));
}

CachingAllocator::Block* CachingAllocator::new_segment(size_t size, void* stream, bool small,
                                                       size_t request) {
  size_t seg =
      small
          ? kSmallSegment
          : (size < kLargeRoundLimit ? (size + kLargeRound - 1) / kLargeRound * kLargeRound : size);
  void* p = nullptr;
  for (int attempt = 0; attempt < 2 && !p; ++attempt) {
    if (attempt == 1) release_free_segments();  // free the cache, then retry once
    if (stats_.limit && stats_.bytes_reserved + seg > stats_.limit) {
      // A small request may still fit in a segment of exactly its size.
      if (stats_.bytes_reserved + size <= stats_.limit) {
        seg = size;
      } else {
        continue;
      }
    }
    p = backend_.alloc(seg, backend_.ctx);
  }
  if (!p) {
    bool over = stats_.limit && stats_.bytes_reserved + size > stats_.limit;
    throw OutOfMemoryError(
        oom_message(request, seg, over ? "limit exceeded" : "backend allocation failed"));
  }
  ++stats_.backend_allocs;
  ++stats_.segments;
  stats_.bytes_reserved += seg;
  stats_.bytes_cached += seg;
  Block* b = new Block;
  b->ptr = p;
  b->size = seg;
  b->stream = stream;
  b->small = small;
  return b;
}

void* CachingAllocator::allocate(size_t nbytes, void* stream) {
  size_t size = round_size(nbytes);
  std::lock_guard<std::mutex> lock(mu_);
  bool small = size <= kSmallSize;
  Pool& pool = small ? small_ : large_;
  Block* b = find_free(pool, size, stream);
  if (!b) b = new_segment(size, stream, small, nbytes);
  // Split off the rest when it is worth keeping.
  size_t rest = b->size - size;
  if (small ? rest >= kRound : rest > kSmallSize) {
    Block* r = new Block;
    r->ptr = static_cast<char*>(b->ptr) + size;
    r->size = rest;
    r->stream = stream;
    r->small = b->small;
    r->prev = b;
    r->next = b->next;
    if (b->next) b->next->prev = r;
    b->next = r;
    b->size = size;
    pool.insert(r);
  }
  b->allocated = true;
  live_[b->ptr] = b;
  ++stats_.allocations;
  stats_.bytes_in_use += b->size;
  stats_.bytes_cached -= b->size;
  if (stats_.bytes_in_use > stats_.peak_bytes_in_use)
    stats_.peak_bytes_in_use = stats_.bytes_in_use;
  return b->ptr;
}

void CachingAllocator::free(void* ptr) {
  if (!ptr) return;
  std::lock_guard<std::mutex> lock(mu_);
  auto it = live_.find(ptr);
  DF_CHECK(it != live_.end(), Error, "[", name_, "] free of a pointer it did not allocate");
  Block* b = it->second;
  live_.erase(it);
  ++stats_.frees;
  b->allocated = false;
  stats_.bytes_in_use -= b->size;
  stats_.bytes_cached += b->size;
  Pool& pool = b->small ? small_ : large_;
  // Merge with free neighbours of the same segment (same stream by construction).
  if (b->prev && !b->prev->allocated) {
    Block* p = b->prev;
    pool.erase(p);
    p->size += b->size;
    p->next = b->next;
    if (b->next) b->next->prev = p;
    delete b;
    b = p;
  }
  if (b->next && !b->next->allocated) {
    Block* n = b->next;
    pool.erase(n);
    b->size += n->size;
    b->next = n->next;
    if (n->next) n->next->prev = b;
    delete n;
  }
  pool.insert(b);
}

void CachingAllocator::release_free_segments() {
  for (Pool* pool : {&small_, &large_}) {
    for (auto it = pool->begin(); it != pool->end();) {
      Block* b = *it;
      if (!b->prev && !b->next) {  // a whole free segment
        backend_.free(b->ptr, b->size, backend_.ctx);
        ++stats_.backend_frees;
        --stats_.segments;
        stats_.bytes_reserved -= b->size;
        stats_.bytes_cached -= b->size;
        delete b;
        it = pool->erase(it);
      } else {
        ++it;
      }
    }
  }
}

void CachingAllocator::empty_cache() {
  std::lock_guard<std::mutex> lock(mu_);
  release_free_segments();
}

CachingAllocatorStats CachingAllocator::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void CachingAllocator::reset_peak() {
  std::lock_guard<std::mutex> lock(mu_);
  stats_.peak_bytes_in_use = stats_.bytes_in_use;
}

void CachingAllocator::set_limit(size_t limit) {
  std::lock_guard<std::mutex> lock(mu_);
  stats_.limit = limit;
}

size_t parse_memory_size(const std::string& s) {
  size_t i = 0;
  while (i < s.size() && std::isspace(static_cast<unsigned char>(s[i]))) ++i;
  size_t start = i;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
  DF_CHECK(i > start, ConfigError, "[memory size] cannot parse '", s,
           "' (expected bytes with optional K/M/G suffix)");
  unsigned long long v = std::stoull(s.substr(start, i - start));
  std::string unit;
  for (; i < s.size(); ++i)
    if (!std::isspace(static_cast<unsigned char>(s[i])))
      unit += static_cast<char>(std::toupper(s[i]));
  unsigned long long mul = 1;
  if (unit.empty() || unit == "B") {
    mul = 1;
  } else if (unit == "K" || unit == "KB" || unit == "KIB") {
    mul = 1ull << 10;
  } else if (unit == "M" || unit == "MB" || unit == "MIB") {
    mul = 1ull << 20;
  } else if (unit == "G" || unit == "GB" || unit == "GIB") {
    mul = 1ull << 30;
  } else {
    throw ConfigError(
        str_cat("[memory size] unknown unit '", unit, "' in '", s, "' (expected K, M or G)"));
  }
  return static_cast<size_t>(v * mul);
}

}  // namespace detforge

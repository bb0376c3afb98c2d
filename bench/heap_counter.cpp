#include "bench/heap_counter.hpp"

#include <malloc.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>

// glibc's allocator under its exported internal names: the replacements
// below forward to them.
extern "C" {
void* __libc_malloc(std::size_t size);
void __libc_free(void* p);
void* __libc_calloc(std::size_t count, std::size_t size);
void* __libc_realloc(void* p, std::size_t size);
void* __libc_memalign(std::size_t alignment, std::size_t size);
void* __libc_valloc(std::size_t size);
void* __libc_pvalloc(std::size_t size);
}

namespace cascadence::bench {

namespace {

std::atomic<std::size_t> live{0};
std::atomic<std::size_t> peak{0};

// glibc keeps one size word in front of every chunk.
constexpr std::size_t chunk_header = sizeof(std::size_t);

std::size_t footprint(void* p) noexcept { return ::malloc_usable_size(p) + chunk_header; }

void add(std::size_t bytes) noexcept {
  const auto now = live.fetch_add(bytes, std::memory_order_relaxed) + bytes;
  auto seen = peak.load(std::memory_order_relaxed);
  while (now > seen && !peak.compare_exchange_weak(seen, now, std::memory_order_relaxed)) {
  }
}

void* counted(void* p) noexcept {
  if (p != nullptr) add(footprint(p));
  return p;
}

}  // namespace

std::size_t live_heap_bytes() noexcept { return live.load(std::memory_order_relaxed); }

std::size_t peak_heap_bytes() noexcept { return peak.load(std::memory_order_relaxed); }

void reset_peak_heap() noexcept { peak.store(live.load(std::memory_order_relaxed), std::memory_order_relaxed); }

}  // namespace cascadence::bench

using cascadence::bench::counted;
using cascadence::bench::footprint;

extern "C" {

void* malloc(std::size_t size) noexcept { return counted(__libc_malloc(size)); }

void free(void* p) noexcept {
  if (p == nullptr) return;
  cascadence::bench::live.fetch_sub(footprint(p), std::memory_order_relaxed);
  __libc_free(p);
}

void* calloc(std::size_t count, std::size_t size) noexcept { return counted(__libc_calloc(count, size)); }

void* realloc(void* p, std::size_t size) noexcept {
  const std::size_t old = p == nullptr ? 0 : footprint(p);
  void* q = __libc_realloc(p, size);
  if (q == nullptr) {
    // realloc(p, 0) freed p; any other null result left p untouched.
    if (p != nullptr && size == 0) cascadence::bench::live.fetch_sub(old, std::memory_order_relaxed);
    return q;
  }
  cascadence::bench::live.fetch_sub(old, std::memory_order_relaxed);
  return counted(q);
}

void* memalign(std::size_t alignment, std::size_t size) noexcept { return counted(__libc_memalign(alignment, size)); }

void* aligned_alloc(std::size_t alignment, std::size_t size) noexcept {
  return counted(__libc_memalign(alignment, size));
}

int posix_memalign(void** out, std::size_t alignment, std::size_t size) noexcept {
  if (alignment % sizeof(void*) != 0 || (alignment & (alignment - 1)) != 0 || alignment == 0) return EINVAL;
  void* p = counted(__libc_memalign(alignment, size));
  if (p == nullptr) return ENOMEM;
  *out = p;
  return 0;
}

void* valloc(std::size_t size) noexcept { return counted(__libc_valloc(size)); }

void* pvalloc(std::size_t size) noexcept { return counted(__libc_pvalloc(size)); }

}  // extern "C"

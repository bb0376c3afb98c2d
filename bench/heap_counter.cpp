#include "bench/heap_counter.hpp"

#include <malloc.h>

#include <algorithm>
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

// Only the counting thread touches counting_live and peak; other threads
// (the pool of --threads) add to other_live. Blocks may be freed by another
// thread than the one that allocated them, so both are signed and only
// their sum means anything.
thread_local bool counting_thread = false;
std::ptrdiff_t counting_live = 0;
std::atomic<std::ptrdiff_t> other_live{0};
std::size_t peak = 0;

// glibc keeps one size word in front of every chunk.
constexpr std::size_t chunk_header = sizeof(std::size_t);

std::size_t footprint(void* p) noexcept { return ::malloc_usable_size(p) + chunk_header; }

std::size_t live_now() noexcept {
  return static_cast<std::size_t>(counting_live + other_live.load(std::memory_order_relaxed));
}

void add(std::ptrdiff_t bytes) noexcept {
  if (!counting_thread) {
    other_live.fetch_add(bytes, std::memory_order_relaxed);
    return;
  }
  counting_live += bytes;
  if (bytes > 0) peak = std::max(peak, live_now());
}

void* counted(void* p) noexcept {
  if (p != nullptr) add(static_cast<std::ptrdiff_t>(footprint(p)));
  return p;
}

void uncount(void* p) noexcept { add(-static_cast<std::ptrdiff_t>(footprint(p))); }

}  // namespace

void become_counting_thread() noexcept {
  counting_thread = true;
  counting_live += other_live.exchange(0, std::memory_order_relaxed);
  peak = live_now();
}

std::size_t live_heap_bytes() noexcept { return live_now(); }

std::size_t peak_heap_bytes() noexcept { return peak; }

void reset_peak_heap() noexcept { peak = live_now(); }

}  // namespace cascadence::bench

using cascadence::bench::counted;
using cascadence::bench::uncount;

extern "C" {

void* malloc(std::size_t size) noexcept { return counted(__libc_malloc(size)); }

void free(void* p) noexcept {
  if (p == nullptr) return;
  uncount(p);
  __libc_free(p);
}

void* calloc(std::size_t count, std::size_t size) noexcept { return counted(__libc_calloc(count, size)); }

void* realloc(void* p, std::size_t size) noexcept {
  // Uncounted before the call: afterwards p may be gone. A failed realloc
  // leaves p in place, so it is counted back.
  if (p != nullptr) uncount(p);
  void* q = __libc_realloc(p, size);
  if (q == nullptr) {
    // realloc(p, 0) freed p; any other null result left p untouched.
    if (p != nullptr && size != 0) counted(p);
    return q;
  }
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

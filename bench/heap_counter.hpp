#pragma once

#include <cstddef>

namespace cascadence::bench {

// The bench binary replaces the C heap functions (malloc, free, calloc,
// realloc and the aligned forms, see glibc's "Replacing malloc") with
// wrappers around glibc's own that count the bytes held: each block's usable
// size plus malloc's size word, i.e. what the heap really spends on it.
// operator new, Asio's handler and coroutine-frame memory (aligned_alloc)
// and everything else allocate through them, so nothing escapes the count.

/// Makes the calling thread the counting thread: the one that builds and
/// runs the scenarios. Its allocations are counted with plain arithmetic,
/// other threads' with atomics, so counting barely perturbs what is timed.
/// Call it first thing in main(); the other functions are for that thread.
void become_counting_thread() noexcept;

/// Bytes currently held on the heap (every thread's allocations).
[[nodiscard]] std::size_t live_heap_bytes() noexcept;

/// The highest live_heap_bytes() since the last reset_peak_heap(), as seen
/// at the counting thread's allocations.
[[nodiscard]] std::size_t peak_heap_bytes() noexcept;

/// Starts tracking the peak again from the current live bytes.
void reset_peak_heap() noexcept;

}  // namespace cascadence::bench

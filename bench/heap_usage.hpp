#pragma once

#include <cstddef>

namespace cascadence::bench {

/// Bytes the C heap currently has handed out, chunk headers included, in
/// every arena and in mmapped blocks (glibc's mallinfo2: uordblks +
/// hblkhd). operator new, Asio's handler and coroutine-frame memory and
/// everything else come from there. Read on demand, so unlike a counting
/// allocator it costs nothing while a scenario is timed. Walks the
/// allocator's free lists: call it around phases, not inside them.
[[nodiscard]] std::size_t heap_in_use_bytes() noexcept;

}  // namespace cascadence::bench

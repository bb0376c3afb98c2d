#pragma once

#include <cstddef>

namespace cascadence::bench {

/// Returns the heap's free pages to the system (malloc_trim), so memory an
/// earlier scenario freed neither counts towards the next one's RSS nor
/// spares it the cost of faulting in fresh pages.
void release_free_memory();

/// Resets the kernel's peak RSS mark (VmHWM) to the current RSS, so the
/// next peak_rss_bytes() covers only what follows. False when the kernel
/// refuses: the peak then covers the whole process lifetime.
bool reset_peak_rss();

/// The process's peak resident set size in bytes since start or the last
/// successful reset_peak_rss().
[[nodiscard]] std::size_t peak_rss_bytes();

}  // namespace cascadence::bench

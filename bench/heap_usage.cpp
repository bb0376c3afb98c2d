#include "bench/heap_usage.hpp"

#include <malloc.h>

namespace cascadence::bench {

std::size_t heap_in_use_bytes() noexcept {
  const struct mallinfo2 info = ::mallinfo2();
  return info.uordblks + info.hblkhd;
}

}  // namespace cascadence::bench

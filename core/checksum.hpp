#pragma once

// The checksum of the project's own file formats (the fire state's header,
// the webhook journal's records): cheap, and enough to tell a whole record
// from one torn by a crash. Not for anything an attacker chooses.

#include <cstdint>
#include <string_view>

namespace cascadence::core {

/// FNV-1a, 64 bits.
[[nodiscard]] constexpr std::uint64_t fnv1a64(std::string_view data) noexcept {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (const char c : data) h = (h ^ static_cast<unsigned char>(c)) * 0x100000001b3ULL;
  return h;
}

}  // namespace cascadence::core

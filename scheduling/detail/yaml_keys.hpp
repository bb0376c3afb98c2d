#pragma once

// How the state files write mapping keys with yaml-cpp. Only scheduling's
// own .cpp files include this.

#include <yaml-cpp/emittermanip.h>

#include <cstddef>
#include <string_view>

namespace cascadence::scheduling::detail {

/// The key format to give the emitter before YAML::Key `key`. YAML allows an
/// implicit key (`key: value`) of 1024 characters at most, yaml-cpp writes
/// longer ones all the same, and its reader then refuses the file; escapes
/// make a key up to four times longer than its bytes, so keys over 200
/// bytes are written as explicit keys (`? key` then `: value`).
[[nodiscard]] inline YAML::EMITTER_MANIP key_format(std::string_view key) noexcept {
  constexpr std::size_t longest_implicit = 200;
  return key.size() > longest_implicit ? YAML::LongKey : YAML::Auto;
}

}  // namespace cascadence::scheduling::detail

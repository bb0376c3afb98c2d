#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace cascadence::scheduling::detail {

/// A zone's UTC-offset history as two parallel arrays: offset `offsets[i]`
/// (seconds east of UTC) is in force from `begins[i]` (seconds since the
/// epoch) until `begins[i + 1]`. `begins[0]` is `earliest`; consecutive
/// offsets differ.
struct zone_rules final {
  static constexpr std::int64_t earliest = std::numeric_limits<std::int64_t>::min();

  std::string name;
  std::vector<std::int64_t> begins;
  std::vector<std::int32_t> offsets;

  /// Index of the period containing `t`.
  [[nodiscard]] std::size_t index_of(std::int64_t t) const noexcept {
    return static_cast<std::size_t>(std::upper_bound(begins.begin() + 1, begins.end(), t) - begins.begin()) - 1;
  }
};

}  // namespace cascadence::scheduling::detail

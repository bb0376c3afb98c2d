#pragma once

#include "core/result.hpp"
#include "scheduling/time_zone.hpp"

#include <chrono>
#include <string>
#include <string_view>

namespace cascadence::scheduling {

/// Why a time could not be read.
struct iso_time_error final {
  /// One line, e.g. `invalid time "2026-13-01T00:00": month 13 out of range 1-12`.
  std::string message;
};

/// `t` as ISO 8601 / RFC 3339 wall-clock time in `zone` with its UTC offset,
/// e.g. `2026-03-08T03:00:00-04:00` (`+00:00` for UTC; a historical offset
/// with seconds prints them: `-04:56:02`).
[[nodiscard]] std::string format_iso8601(std::chrono::sys_seconds t, const time_zone& zone);

/// Reads `YYYY-MM-DD[(T| )HH:MM[:SS[.fraction]]][Z|±HH:MM[:SS]|±HHMM|±HH]`
/// (an offset with seconds as format_iso8601() writes it reads back).
/// With an offset or `Z` the text names one instant; without one it is a
/// wall-clock time in `zone` (see time_zone::to_sys() for repeated and
/// skipped times). A date alone means its midnight. Fractions of a second
/// are truncated; leap seconds (`:60`) are refused.
[[nodiscard]] core::result<std::chrono::sys_seconds, iso_time_error> parse_iso8601(std::string_view text,
                                                                                   const time_zone& zone);

}  // namespace cascadence::scheduling

#pragma once

#include "core/result.hpp"

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

namespace cascadence::scheduling {

namespace detail {
struct zone_rules;
}  // namespace detail

/// A stretch of time over which a zone's UTC offset does not change.
struct offset_period final {
  /// First instant of the period; `sys_seconds::min()` for the earliest one.
  std::chrono::sys_seconds begin;
  /// First instant after the period; `sys_seconds::max()` for the last one.
  std::chrono::sys_seconds end;
  /// Local wall-clock time = UTC + offset.
  std::chrono::seconds offset{0};
  /// The offset just before `begin`. Larger than `offset` after a fall-back
  /// (local times repeat), smaller after a spring-forward (local times are
  /// skipped); equal for the earliest period.
  std::chrono::seconds previous_offset{0};
};

/// Why a time zone name could not be used.
struct time_zone_error final {
  /// One line, e.g. `unknown time zone "Mars/Olympus" (not in the system tz database)`.
  std::string message;
};

/// An IANA time zone from the system tz database, reduced to its UTC-offset
/// history for fast lookups. A cheap, copyable, thread-safe handle: zones
/// are loaded once per process and shared.
class time_zone final {
 public:
  /// UTC.
  time_zone() noexcept;

  /// Looks up an IANA name ("Europe/Berlin", "UTC") in the system tzdata.
  [[nodiscard]] static core::result<time_zone, time_zone_error> locate(std::string_view name);
  /// UTC, without touching the tz database.
  [[nodiscard]] static time_zone utc() noexcept;

  /// The IANA name the zone was located by.
  [[nodiscard]] const std::string& name() const noexcept;

  /// The period of constant offset that contains `t`.
  [[nodiscard]] offset_period period_at(std::chrono::sys_seconds t) const noexcept;
  /// The UTC offset in force at `t`.
  [[nodiscard]] std::chrono::seconds offset_at(std::chrono::sys_seconds t) const noexcept;
  /// The wall-clock time at `t`.
  [[nodiscard]] std::chrono::local_seconds to_local(std::chrono::sys_seconds t) const noexcept;
  /// The instant a wall-clock time names. A time that occurs twice (after a
  /// fall-back) gives the earlier instant; a time skipped by a
  /// spring-forward is read with the offset before the gap, as RFC 5545 and
  /// java.time do (02:30 in a 02:00 -> 03:00 gap is 03:30 after the jump).
  [[nodiscard]] std::chrono::sys_seconds to_sys(std::chrono::local_seconds t) const noexcept;

  /// Zones are equal when they were located by the same name.
  friend bool operator==(const time_zone& a, const time_zone& b) noexcept;

 private:
  explicit time_zone(std::shared_ptr<const detail::zone_rules> rules) noexcept;

  std::shared_ptr<const detail::zone_rules> rules_;
};

}  // namespace cascadence::scheduling

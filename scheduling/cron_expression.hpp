#pragma once

#include "core/result.hpp"

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cascadence::scheduling {

/// Why a cron expression was refused.
struct cron_error final {
  /// One line naming the text, the field and the fault, e.g.
  /// `invalid cron expression "61 * * * *": minute 61 out of range 0-59`.
  std::string message;
  /// "second", "minute", "hour", "day-of-month", "month", "day-of-week", or
  /// empty when the expression as a whole is at fault (field count, macro).
  std::string field;
  /// Offset in the original text of the first offending character.
  std::size_t position = 0;
};

/// A parsed crontab schedule with Vixie cron / cronie semantics: five fields
/// (minute hour day-of-month month day-of-week) or six with a leading
/// seconds field; lists, ranges, steps (`*/15`, `10-50/10`, `5/15` = 5-59/15),
/// case-insensitive month and weekday names, Sunday as 0 or 7, the macros
/// @yearly @annually @monthly @weekly @daily @midnight @hourly, and the rule
/// that when both day fields are restricted (neither starts with `*`) a day
/// matching either one matches. Five-field schedules fire at second 0.
///
/// Each field is a bit set, so matching and searching cost a few bit
/// operations per field. Time zones and DST are applied by next_fire().
class cron_expression final {
 public:
  /// Parses `text`; bad input comes back as a cron_error, never as an exception.
  [[nodiscard]] static core::result<cron_expression, cron_error> parse(std::string_view text);

  /// The text the expression was parsed from, unchanged.
  [[nodiscard]] const std::string& text() const noexcept { return text_; }
  /// Whether the expression has a leading seconds field.
  [[nodiscard]] bool has_seconds() const noexcept { return has_seconds_; }
  /// Whether the minute or hour field starts with `*` (cronie's "wildcard"
  /// jobs, @hourly included). Such schedules follow elapsed time through
  /// DST changes; the others follow the wall clock (see next_fire()).
  [[nodiscard]] bool has_wildcard_time() const noexcept { return wildcard_time_; }
  /// False when no calendar date can ever match (`0 0 30 2 *`).
  [[nodiscard]] bool can_fire() const noexcept { return can_fire_; }

  /// The values each field matches, as bit sets (bit n: value n; weekday 0
  /// is Sunday), for adapters that write the schedule in another system's
  /// terms (Temporal's calendar spec).
  [[nodiscard]] std::uint64_t second_bits() const noexcept { return seconds_; }
  [[nodiscard]] std::uint64_t minute_bits() const noexcept { return minutes_; }
  [[nodiscard]] std::uint32_t hour_bits() const noexcept { return hours_; }
  [[nodiscard]] std::uint32_t day_bits() const noexcept { return days_; }
  [[nodiscard]] std::uint16_t month_bits() const noexcept { return months_; }
  [[nodiscard]] std::uint8_t weekday_bits() const noexcept { return weekdays_; }
  /// True when both day fields are restricted, so a day matching either
  /// one matches (cron's rule); false when both must match.
  [[nodiscard]] bool either_day_matches() const noexcept { return !both_days_required_; }

  /// Whether a wall-clock time matches every field.
  [[nodiscard]] bool matches(std::chrono::local_seconds t) const noexcept;
  /// The first wall-clock time at or after `from` that matches, looking no
  /// further than the end of year `last_year`. Field by field: next month,
  /// next day, next hour, minute, second; never minute by minute.
  [[nodiscard]] std::optional<std::chrono::local_seconds> next_match(std::chrono::local_seconds from,
                                                                     int last_year) const noexcept;

 private:
  friend class cron_expression_parser;
  cron_expression() = default;

  [[nodiscard]] std::uint32_t matching_days(int year, unsigned month) const noexcept;
  [[nodiscard]] std::optional<int> next_time_of_day(int hour, int minute, int second) const noexcept;

  std::string text_;
  std::uint64_t seconds_ = 0;  ///< bit s: second s (0-59)
  std::uint64_t minutes_ = 0;  ///< bit m: minute m (0-59)
  std::uint32_t hours_ = 0;    ///< bit h: hour h (0-23)
  std::uint32_t days_ = 0;     ///< bit d: day of month d (1-31)
  std::uint16_t months_ = 0;   ///< bit m: month m (1-12)
  std::uint8_t weekdays_ = 0;  ///< bit w: weekday w (0 = Sunday)
  /// For each weekday of a month's first day, the days of month that fall
  /// on a weekday in `weekdays_`.
  std::array<std::uint32_t, 7> weekday_days_{};
  bool has_seconds_ = false;
  bool wildcard_time_ = false;
  bool both_days_required_ = true;  ///< day-of-month AND day-of-week (one starts with `*`)
  bool can_fire_ = false;
};

}  // namespace cascadence::scheduling

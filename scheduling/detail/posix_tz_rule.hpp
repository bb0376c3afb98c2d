#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cascadence::scheduling::detail {

/// The rule a TZif file (version 2 or later) ends with, in POSIX TZ syntax
/// as extended by RFC 8536 (e.g. `EST5EDT,M3.2.0,M11.1.0`). It gives the
/// zone's offsets for times after the file's last transition; date/tz in
/// its OS-database mode does not read it, so zones would lose DST after
/// 2037 without it.
struct posix_tz_rule final {
  /// A day of the year in one of the three POSIX forms.
  struct day_rule final {
    enum class form : std::uint8_t { julian_no_leap, zero_based, month_week_day };
    form kind = form::month_week_day;
    int day = 0;    ///< Jn: 1-365; n: 0-365; Mm.w.d: weekday 0-6 (Sunday 0)
    int month = 0;  ///< Mm.w.d: 1-12
    int week = 0;   ///< Mm.w.d: 1-5, 5 meaning the last
  };

  std::int32_t standard_offset = 0;  ///< seconds east of UTC
  std::int32_t dst_offset = 0;       ///< seconds east of UTC
  bool has_dst = false;
  day_rule dst_start;
  day_rule dst_end;
  std::int32_t dst_start_time = 7200;  ///< wall-clock seconds after midnight, standard time
  std::int32_t dst_end_time = 7200;    ///< wall-clock seconds after midnight, DST

  /// Parses the rule; nullopt when the text is not one.
  [[nodiscard]] static std::optional<posix_tz_rule> parse(std::string_view text);

  /// The offset changes in `year` as (UTC seconds since the epoch, new
  /// offset), in time order. Empty for a rule without DST.
  [[nodiscard]] std::vector<std::pair<std::int64_t, std::int32_t>> transitions_in(int year) const;
};

/// The footer rule of the TZif file at `path`, if it has one.
[[nodiscard]] std::optional<std::string> read_tzif_footer(const std::string& path);

}  // namespace cascadence::scheduling::detail

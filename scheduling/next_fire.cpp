#include "scheduling/next_fire.hpp"

#include <algorithm>

namespace cascadence::scheduling {

namespace {

using std::chrono::local_seconds;
using std::chrono::seconds;
using std::chrono::sys_seconds;

// Fire times are kept within the years ISO 8601 can print.
constexpr sys_seconds earliest_supported{seconds{-62135596800}};  // 0001-01-01T00:00:00Z
constexpr sys_seconds latest_supported{seconds{253402300799}};    // 9999-12-31T23:59:59Z
constexpr int last_supported_year = 9999;

// The Gregorian calendar repeats every 400 years, so a schedule that can
// fire at all fires within 400 years of any instant; searching one cycle
// (plus one year for the rough year estimate below) is complete.
constexpr int search_years = 401;
constexpr std::int64_t seconds_per_average_year = 31556952;

}  // namespace

std::optional<sys_seconds> next_fire(const cron_expression& schedule, const time_zone& zone,
                                     sys_seconds after) noexcept {
  if (!schedule.can_fire() || after >= latest_supported) return std::nullopt;
  sys_seconds t = std::max(after, earliest_supported) + seconds{1};
  const auto approximate_year = static_cast<int>(1970 + t.time_since_epoch().count() / seconds_per_average_year);
  const int last_year = std::min(last_supported_year, approximate_year + search_years);
  const bool wall_clock = !schedule.has_wildcard_time();

  // One round per period of constant UTC offset: match wall-clock fields
  // from `t` on; a match that falls past the period's end is read again in
  // the next period's offset.
  for (;;) {
    const offset_period period = zone.period_at(t);
    local_seconds from{t.time_since_epoch() + period.offset};
    std::optional<local_seconds> match;
    if (wall_clock && period.previous_offset > period.offset) {
      // After a fall-back the wall times [begin + offset, begin +
      // previous_offset) come round again; they fired the first time.
      from = std::max(from, local_seconds{period.begin.time_since_epoch() + period.previous_offset});
      match = schedule.next_match(from, last_year);
    } else if (wall_clock && period.previous_offset < period.offset && t == period.begin) {
      // A spring-forward skipped the wall times [gap_start, from): one in
      // the gap fires once, right after it, as cronie does when its clock
      // jumps forward. Otherwise the match is the first one after the gap.
      const local_seconds gap_start{period.begin.time_since_epoch() + period.previous_offset};
      match = schedule.next_match(gap_start, last_year);
      if (match && *match < from) return period.begin;
    } else {
      match = schedule.next_match(from, last_year);
    }
    if (!match) return std::nullopt;
    const sys_seconds fire{match->time_since_epoch() - period.offset};
    if (fire < period.end) return fire;
    t = period.end;
  }
}

std::optional<sys_seconds> next_fire(const cron_expression& schedule, const time_zone& zone,
                                     std::chrono::system_clock::time_point after) noexcept {
  return next_fire(schedule, zone, std::chrono::floor<seconds>(after));
}

std::vector<sys_seconds> next_fires(const cron_expression& schedule, const time_zone& zone, sys_seconds after,
                                    std::size_t count) {
  std::vector<sys_seconds> fires;
  fires.reserve(std::min<std::size_t>(count, 1024));
  while (fires.size() < count) {
    const auto fire = next_fire(schedule, zone, after);
    if (!fire) break;
    fires.push_back(*fire);
    after = *fire;
  }
  return fires;
}

}  // namespace cascadence::scheduling

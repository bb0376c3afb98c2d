#pragma once

#include "scheduling/cron_expression.hpp"
#include "scheduling/time_zone.hpp"

#include <chrono>
#include <cstddef>
#include <optional>
#include <vector>

namespace cascadence::scheduling {

/// The first instant strictly after `after` at which `schedule` fires when
/// read in `zone`, or nullopt when it never fires again (an impossible date
/// such as `0 0 30 2 *`, or nothing before the year 10000).
///
/// Fields are matched against the zone's wall clock. Across DST changes
/// the schedule behaves as cronie does when the system runs in that zone:
/// - Schedules whose minute or hour field starts with `*` (`*/15 * * * *`,
///   `30 * * * *`, @hourly) follow elapsed time: wall-clock times skipped by
///   a spring-forward never happen, and times repeated by a fall-back fire
///   at both instants.
/// - Other schedules (`30 2 * * *`) follow the wall clock: a time skipped by
///   a spring-forward fires once, at the first instant after the gap (03:00
///   local for 02:30 on a 02:00 -> 03:00 night), and a repeated time fires at
///   its first occurrence only.
///
/// Every schedule fires at most once per instant. Costs a few hundred
/// nanoseconds: the search jumps field by field and looks up offsets in a
/// table, with a bounded number of steps.
[[nodiscard]] std::optional<std::chrono::sys_seconds> next_fire(const cron_expression& schedule, const time_zone& zone,
                                                                std::chrono::sys_seconds after) noexcept;

/// As above, for a finer-grained instant (the next whole second after it).
[[nodiscard]] std::optional<std::chrono::sys_seconds> next_fire(const cron_expression& schedule, const time_zone& zone,
                                                                std::chrono::system_clock::time_point after) noexcept;

/// Up to `count` successive fire times strictly after `after`; fewer when
/// the schedule stops firing.
[[nodiscard]] std::vector<std::chrono::sys_seconds> next_fires(const cron_expression& schedule, const time_zone& zone,
                                                               std::chrono::sys_seconds after, std::size_t count);

}  // namespace cascadence::scheduling

#pragma once

// Our cron schedules as Temporal Schedule specs (docs/temporal.md, "Schedules"):
// each field becomes a structured-calendar range list, cron's either-day
// rule becomes two calendars, and what Temporal's calendar cannot mean the
// same way is refused rather than changed.

#include "core/result.hpp"

#include <boost/json/object.hpp>

#include <chrono>
#include <string>
#include <string_view>

namespace cascadence::scheduling {
class cron_expression;
class time_zone;
struct schedule_entry;
}  // namespace cascadence::scheduling

namespace cascadence::adapters::temporal {

/// The `spec` of a Temporal Schedule firing when `expr` does in `zone`,
/// with `jitter`; or why Temporal would fire at other times than our cron
/// scheduler (a fixed-time schedule meeting a DST change in `zone` within
/// the next two years, checked from `now`).
[[nodiscard]] core::result<boost::json::object, std::string> calendar_spec(const scheduling::cron_expression& expr,
                                                                           const scheduling::time_zone& zone,
                                                                           std::chrono::milliseconds jitter,
                                                                           std::chrono::sys_seconds now);

/// Our overlap policy name (skip, buffer_one, ...) as Temporal's enum suffix (SKIP, BUFFER_ONE, ...).
[[nodiscard]] std::string overlap_name(std::string_view ours);

/// The cron text of a Temporal calendar spec written by calendar_spec(), for
/// listing (`task schedules`); "?" for what it did not write.
[[nodiscard]] std::string describe_spec(const boost::json::object& spec);

}  // namespace cascadence::adapters::temporal

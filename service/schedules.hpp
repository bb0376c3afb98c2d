#pragma once

#include "core/result.hpp"
#include "scheduling/cron_scheduler.hpp"
#include "scheduling/schedule_store.hpp"
#include "service/config.hpp"

#include <string>
#include <variant>
#include <vector>

namespace cascadence::service {

/// The schedules in force: those declared in the configuration, replaced by
/// those persisted in the schedules file, which win.
struct effective_schedules final {
  std::vector<scheduling::schedule_entry> entries;
  /// One line each: conflicts, entries for unknown tasks, undecodable ones.
  std::vector<std::string> warnings;
};

[[nodiscard]] effective_schedules collect_schedules(const config& cfg, const scheduling::schedule_file& file);

/// The task a key of the seed's original schedules file names, which keyed
/// schedules by class name (`ExampleTask` for `example`, `DailyReportTask`
/// for `daily_report` or `daily-report`); nullptr when none of cfg's does.
[[nodiscard]] const task_config* seed_class_name_task(const config& cfg, std::string_view key);

/// Parses an entry's expression and locates its zone (the configuration's
/// `timezone` when the entry names none); the error is one line.
[[nodiscard]] core::result<scheduling::active_schedule, std::string> activate(const config& cfg,
                                                                              const scheduling::schedule_entry& entry);

}  // namespace cascadence::service

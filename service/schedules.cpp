#include "service/schedules.hpp"

#include <algorithm>
#include <unordered_map>

namespace cascadence::service {

effective_schedules collect_schedules(const config& cfg, const scheduling::schedule_file& file) {
  effective_schedules out;
  std::unordered_map<std::string_view, std::size_t> position;
  for (const auto& t : cfg.tasks) {
    if (!t.schedule) continue;
    position.emplace(t.name, out.entries.size());
    out.entries.push_back(*t.schedule);
  }
  for (const auto& e : file.entries) {
    auto pos = position.find(e.task);
    if (pos != position.end()) {
      auto it = out.entries.begin() + static_cast<std::ptrdiff_t>(pos->second);
      if (!(*it == e)) {
        out.warnings.push_back("task '" + e.task + "': the schedule in " + cfg.storage_path.string() + " (\"" +
                               e.expression + "\") wins over the one in the configuration (\"" + it->expression +
                               "\")");
      }
      *it = e;
    } else {
      out.entries.push_back(e);
    }
    if (cfg.find(e.task) == nullptr) {
      out.warnings.push_back(cfg.storage_path.string() + ": schedule for unknown task '" + e.task +
                             "' is kept but not fired");
    }
  }
  for (const auto& u : file.undecodable) {
    out.warnings.push_back(u.problem + " (entry '" + u.key + "' is kept but not fired)");
  }
  return out;
}

core::result<scheduling::active_schedule, std::string> activate(const config& cfg,
                                                                const scheduling::schedule_entry& entry) {
  auto expr = scheduling::cron_expression::parse(entry.expression);
  if (auto* err = (expr ? nullptr : &expr.error())) return err->message;
  auto zone = scheduling::time_zone::locate(entry.timezone.empty() ? cfg.timezone : entry.timezone);
  if (auto* err = (zone ? nullptr : &zone.error())) return err->message;
  return scheduling::active_schedule{entry, std::move(expr.value()), std::move(zone.value())};
}

}  // namespace cascadence::service

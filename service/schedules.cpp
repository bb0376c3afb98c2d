#include "service/schedules.hpp"

#include <algorithm>
#include <cctype>
#include <unordered_map>

namespace cascadence::service {

const task_config* seed_class_name_task(const config& cfg, std::string_view key) {
  constexpr std::string_view suffix = "Task";
  if (!key.ends_with(suffix) || key.size() == suffix.size()) return nullptr;
  const auto stem = key.substr(0, key.size() - suffix.size());
  if (std::isupper(static_cast<unsigned char>(stem.front())) == 0) return nullptr;
  // CamelCase to words: a capital starts a word, except inside a run of capitals (`HTTPCheck`: http, check).
  std::string snake;
  for (std::size_t i = 0; i < stem.size(); ++i) {
    const auto c = static_cast<unsigned char>(stem[i]);
    const bool next_lower = i + 1 < stem.size() && std::islower(static_cast<unsigned char>(stem[i + 1])) != 0;
    const bool prev_upper = i > 0 && std::isupper(static_cast<unsigned char>(stem[i - 1])) != 0;
    if (i > 0 && std::isupper(c) != 0 && (!prev_upper || next_lower)) snake += '_';
    snake += static_cast<char>(std::tolower(c));
  }
  if (const auto* t = cfg.find(snake)) return t;
  std::replace(snake.begin(), snake.end(), '_', '-');
  return cfg.find(snake);
}

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
      std::string line =
          cfg.storage_path.string() + ": schedule for unknown task '" + e.task + "' is kept but not fired";
      if (const auto* t = seed_class_name_task(cfg, e.task)) {
        line +=
            " (a class name, as the seed's original keyed schedules: rename the key to '" + t->name + "' to fire it)";
      }
      out.warnings.push_back(std::move(line));
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

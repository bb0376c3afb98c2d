// `task next`, `task schedule`, `task unschedule`, `task schedules`,
// `task pause`, `task resume`.

#include "cli/cli.hpp"
#include "cli/invocation.hpp"
#include "cli/temporal_commands.hpp"
#include "core/text.hpp"
#include "engine/duration.hpp"
#include "net/json.hpp"
#include "scheduling/iso_time.hpp"
#include "scheduling/next_fire.hpp"
#include "service/schedules.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/program_options.hpp>

#include <algorithm>
#include <ostream>

namespace cascadence::cli {

namespace po = boost::program_options;
using std::chrono::sys_seconds;

namespace {

// Refuses commands that persist schedules under a backend that keeps none.
void require_cron_backend(const config& cfg, std::string_view what) {
  if (cfg.backend == "base") {
    throw usage_error(std::string(what) + " needs the cron backend (backend 'base' keeps nothing; set backend: cron)");
  }
}

scheduling::time_zone zone_or_throw(const std::string& name) {
  auto zone = scheduling::time_zone::locate(name);
  if (auto* err = (zone ? nullptr : &zone.error())) throw usage_error(err->message);
  return zone.value();
}

scheduling::cron_expression expression_or_throw(const std::string& text) {
  auto expr = scheduling::cron_expression::parse(text);
  if (auto* err = (expr ? nullptr : &expr.error())) throw usage_error(err->message);
  return expr.value();
}

sys_seconds now_seconds() {
  return std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
}

std::string next_text(const config& cfg, const scheduling::schedule_entry& e) {
  auto active = activate(cfg, e);
  if (!active) return "invalid: " + active.error();
  const auto& a = active.value();
  auto next = scheduling::next_fire(a.expression, a.zone, now_seconds());
  return next ? scheduling::format_iso8601(*next, a.zone) : std::string("never");
}

// Runs `change` on the persisted entry of `name`, creating it from the
// configuration's declaration when only that exists.
void edit_entry(invocation& inv, const std::string& name, const char* what,
                const std::function<void(scheduling::schedule_entry&)>& change) {
  const auto& cfg = inv.cfg();
  require_cron_backend(cfg, std::string("task ") + what);
  const auto* task = cfg.find(name);
  bool found = false;
  scheduling::schedule_store(cfg.storage_path).update([&](std::vector<scheduling::schedule_entry>& entries) {
    auto it = std::find_if(entries.begin(), entries.end(), [&](const auto& e) { return e.task == name; });
    if (it == entries.end() && task != nullptr && task->schedule) {
      entries.push_back(*task->schedule);
      it = entries.end() - 1;
    }
    if (it == entries.end()) return;
    found = true;
    change(*it);
  });
  if (!found) {
    (void)inv.task(name);  // an unknown name is a usage error naming the known tasks
    throw usage_error("task '" + name + "' has no schedule (add one with 'task schedule " + name + " EXPR')");
  }
}

}  // namespace

int run_next(invocation& inv) {
  po::options_description options("options");
  options.add_options()("timezone", po::value<std::string>(), "IANA time zone (default: the configuration's)")(
      "from", po::value<std::string>(), "ISO 8601 time to start after (default: now)")(
      "count", po::value<std::size_t>()->default_value(5), "how many fire times")(
      "expression", po::value<std::string>(), "cron expression");
  po::positional_options_description positional;
  positional.add("expression", 1);
  po::variables_map vm;
  if (!inv.parse(options, positional, vm, "EXPR [--timezone TZ] [--from TIME] [--count N]")) return exit_ok;
  if (vm.count("expression") == 0U) throw usage_error("missing cron expression; usage: task next EXPR");
  const auto expr = expression_or_throw(vm["expression"].as<std::string>());
  const auto zone = zone_or_throw(vm.count("timezone") != 0U ? vm["timezone"].as<std::string>() : inv.cfg().timezone);
  sys_seconds from = now_seconds();
  if (vm.count("from") != 0U) {
    auto t = scheduling::parse_iso8601(vm["from"].as<std::string>(), zone);
    if (auto* err = (t ? nullptr : &t.error())) throw usage_error(err->message);
    from = t.value();
  }
  const auto count = vm["count"].as<std::size_t>();
  if (count == 0 || count > 10000) throw usage_error("--count must be from 1 to 10000");
  const auto fires = scheduling::next_fires(expr, zone, from, count);
  for (auto t : fires) inv.out() << scheduling::format_iso8601(t, zone) << '\n';
  if (fires.empty()) inv.err() << "note: \"" << core::printable(expr.text()) << "\" never fires after that time\n";
  return exit_ok;
}

int run_schedule(invocation& inv) {
  po::options_description options("options");
  options.add_options()("timezone", po::value<std::string>(), "IANA time zone (default: the configuration's)")(
      "overlap", po::value<std::string>(), "skip (default), buffer_one, buffer_all, cancel_other, allow_all")(
      "catchup-window", po::value<std::string>(), "run a missed fire younger than this once (default 1m)")(
      "jitter", po::value<std::string>(), "random delay up to this (default 0)")(
      "name", po::value<std::string>(), "task name")("expression", po::value<std::string>(), "cron expression");
  po::positional_options_description positional;
  positional.add("name", 1).add("expression", 1);
  po::variables_map vm;
  if (!inv.parse(options, positional, vm,
                 "NAME EXPR [--timezone TZ] [--overlap P] [--catchup-window D] [--jitter D]")) {
    return exit_ok;
  }
  const auto& cfg = inv.cfg();
  require_cron_backend(cfg, "task schedule");
  if (vm.count("name") == 0U) throw usage_error("missing task name; usage: task schedule NAME EXPR");
  const auto& task = inv.task(vm["name"].as<std::string>());
  if (vm.count("expression") == 0U) throw usage_error("missing cron expression; usage: task schedule NAME EXPR");

  scheduling::schedule_entry entry;
  entry.task = task.name;
  entry.expression = vm["expression"].as<std::string>();
  if (vm.count("timezone") != 0U) entry.timezone = vm["timezone"].as<std::string>();
  if (vm.count("overlap") != 0U) {
    auto p = scheduling::parse_overlap_policy(vm["overlap"].as<std::string>());
    if (!p) {
      throw usage_error("--overlap: unknown policy '" + vm["overlap"].as<std::string>() +
                        "' (known: skip, buffer_one, buffer_all, cancel_other, allow_all)");
    }
    entry.policy.overlap = *p;
  }
  for (const auto& [option, key] : {std::pair{"catchup-window", "catchup_window"}, std::pair{"jitter", "jitter"}}) {
    if (vm.count(option) == 0U) continue;
    if (auto why = scheduling::set_policy(entry.policy, key, vm[option].as<std::string>())) {
      throw usage_error("--" + std::string(option) + ": " + *why);
    }
  }
  // Everything is checked before anything is written.
  (void)expression_or_throw(entry.expression);
  if (cfg.backend == "temporal") return temporal_schedule(inv, entry);
  auto active = activate(cfg, entry);
  if (!active) throw usage_error(active.error());
  const auto& a = active.value();

  scheduling::schedule_store(cfg.storage_path).update([&](std::vector<scheduling::schedule_entry>& entries) {
    auto it = std::find_if(entries.begin(), entries.end(), [&](const auto& e) { return e.task == entry.task; });
    if (it != entries.end()) {
      *it = entry;
    } else {
      entries.push_back(entry);
    }
  });
  inv.out() << entry.task << '\t' << entry.expression << '\t' << a.zone.name() << '\n';
  const auto fires = scheduling::next_fires(a.expression, a.zone, now_seconds(), 3);
  for (auto t : fires) inv.out() << "next: " << scheduling::format_iso8601(t, a.zone) << '\n';
  if (fires.empty()) inv.err() << "warning: \"" << core::printable(entry.expression) << "\" never fires\n";
  return exit_ok;
}

int run_unschedule(invocation& inv) {
  const auto parsed = inv.parse_name();
  if (!parsed) return exit_ok;
  const auto& name = *parsed;
  const auto& cfg = inv.cfg();
  if (cfg.backend == "temporal") return temporal_unschedule(inv, name);
  require_cron_backend(cfg, "task unschedule");
  bool removed = false;
  scheduling::schedule_store(cfg.storage_path).update([&](std::vector<scheduling::schedule_entry>& entries) {
    removed = std::erase_if(entries, [&](const auto& e) { return e.task == name; }) > 0;
  });
  if (!removed) {
    const auto* task = cfg.find(name);
    if (task != nullptr && task->schedule) {
      throw usage_error("task '" + name + "' is scheduled in " + cfg.source.string() + ", not in " +
                        cfg.storage_path.string() + " (remove its 'schedule:' key there, or pause it)");
    }
    (void)inv.task(name);
    throw usage_error("task '" + name + "' has no schedule in " + cfg.storage_path.string());
  }
  inv.out() << name << "\tunscheduled\n";
  return exit_ok;
}

int run_schedules(invocation& inv) {
  po::options_description options("options");
  options.add_options()("json", "print a JSON array instead of lines");
  po::variables_map vm;
  if (!inv.parse(options, {}, vm, "[--json]")) return exit_ok;
  const auto& cfg = inv.cfg();
  if (cfg.backend == "base") {
    inv.err() << "note: backend 'base' keeps no schedules\n";
    return exit_ok;
  }
  if (cfg.backend == "temporal") return temporal_schedules(inv, vm.count("json") != 0U);
  const auto eff = collect_schedules(cfg, scheduling::schedule_store(cfg.storage_path).load());
  for (const auto& w : eff.warnings) inv.err() << "warning: " << core::printable(w) << '\n';
  if (vm.count("json") != 0U) {
    boost::json::array out;
    for (const auto& e : eff.entries) {
      out.push_back(boost::json::object{{"name", e.task},
                                        {"schedule", e.expression},
                                        {"timezone", e.timezone.empty() ? cfg.timezone : e.timezone},
                                        {"next", next_text(cfg, e)},
                                        {"paused", e.paused},
                                        {"overlap", scheduling::to_string(e.policy.overlap)},
                                        {"catchup_window", engine::format_duration(e.policy.catchup_window)},
                                        {"jitter", engine::format_duration(e.policy.jitter)},
                                        {"known", cfg.find(e.task) != nullptr}});
    }
    inv.out() << net::json_text(out) << '\n';
    return exit_ok;
  }
  for (const auto& e : eff.entries) {
    inv.out() << e.task << '\t' << e.expression << '\t' << (e.timezone.empty() ? cfg.timezone : e.timezone) << '\t'
              << (cfg.find(e.task) == nullptr ? std::string("unknown task")
                  : e.paused                  ? std::string("paused")
                                              : next_text(cfg, e))
              << '\n';
  }
  return exit_ok;
}

namespace {
int set_paused(invocation& inv, bool paused) {
  const auto parsed = inv.parse_name();
  if (!parsed) return exit_ok;
  const auto& name = *parsed;
  if (inv.cfg().backend == "temporal") return temporal_pause(inv, name, paused);
  edit_entry(inv, name, paused ? "pause" : "resume", [&](scheduling::schedule_entry& e) { e.paused = paused; });
  inv.out() << name << '\t' << (paused ? "paused" : "resumed") << '\n';
  return exit_ok;
}
}  // namespace

int run_pause(invocation& inv) {
  return set_paused(inv, true);
}
int run_resume(invocation& inv) {
  return set_paused(inv, false);
}

}  // namespace cascadence::cli

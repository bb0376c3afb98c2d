#include "cli/temporal_commands.hpp"

#include "adapters/temporal/history.hpp"
#include "adapters/temporal/schedule_spec.hpp"
#include "adapters/temporal/workflow_processor.hpp"
#include "cli/cli.hpp"
#include "cli/invocation.hpp"
#include "core/text.hpp"
#include "engine/duration.hpp"
#include "net/json.hpp"
#include "scheduling/cron_expression.hpp"
#include "scheduling/time_zone.hpp"
#include "service/temporal_tasks.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/array.hpp>
#include <boost/program_options.hpp>

#include <cerrno>
#include <cstring>
#include <exception>
#include <fstream>
#include <ostream>
#include <set>
#include <sstream>

namespace cascadence::cli {

namespace asio = boost::asio;
namespace json = boost::json;
namespace po = boost::program_options;
namespace temporal = adapters::temporal;

namespace {

// Runs `call(client)` on a loop of its own and returns what it gave; a
// client error becomes a temporal_error (not_found: a usage_error).
template <typename T, typename Call>
T on_temporal(invocation& inv, Call call) {
  asio::io_context io;
  auto& c = temporal::client_on(io.get_executor(), service::temporal_settings(inv.cfg()));
  std::optional<temporal::result<T>> got;
  std::exception_ptr failure;
  asio::co_spawn(io, call(c), [&](const std::exception_ptr& e, temporal::result<T> r) {
    failure = e;
    if (!e) got.emplace(std::move(r));
  });
  io.run();
  if (failure) std::rethrow_exception(failure);
  if (!*got) {
    const auto& e = got->error();
    if (e.code == temporal::errc::not_found || e.code == temporal::errc::invalid) throw usage_error(e.message);
    throw temporal_error(e.message);
  }
  return std::move(got->value());
}

std::string policy_name(std::string temporal_name) {
  for (auto& c : temporal_name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return temporal_name;
}

}  // namespace

int temporal_schedule(invocation& inv, const scheduling::schedule_entry& entry) {
  const auto& cfg = inv.cfg();
  const auto& task = inv.task(entry.task);
  auto expr = scheduling::cron_expression::parse(entry.expression);
  if (!expr) throw usage_error(expr.error().message);
  auto zone = scheduling::time_zone::locate(entry.timezone.empty() ? cfg.timezone : entry.timezone);
  if (!zone) throw usage_error(zone.error().message);
  const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  auto spec = temporal::calendar_spec(*expr, *zone, entry.policy.jitter, now);
  if (!spec) throw usage_error("cannot schedule " + entry.task + " on Temporal: " + spec.error());

  temporal::schedule_request req;
  req.id = entry.task;
  req.spec = std::move(*spec);
  req.action.workflow_id = entry.task + "-scheduled";
  req.action.workflow_type = task.workflow_type();
  req.action.args.emplace_back(nullptr);
  req.action.execution_timeout = task.settings.timeout;
  req.action.memo = json::object{{"cascadence_task", entry.task}};
  req.overlap = temporal::overlap_name(scheduling::to_string(entry.policy.overlap));
  req.catchup_window = entry.policy.catchup_window;
  req.paused = entry.paused;
  req.note = "cascadence: " + entry.expression + " (" + zone->name() + ")";
  (void)on_temporal<std::monostate>(inv, [&](temporal::client& c) { return c.upsert_schedule(req); });
  auto info =
      on_temporal<temporal::schedule_info>(inv, [&](temporal::client& c) { return c.describe_schedule(req.id); });
  inv.out() << entry.task << '\t' << entry.expression << '\t' << zone->name() << "\ton Temporal (schedule " << req.id
            << ", namespace " << service::temporal_settings(inv.cfg()).ns << ")\n";
  for (std::size_t i = 0; i < info.next_times.size() && i < 3; ++i) inv.out() << "next: " << info.next_times[i] << '\n';
  return exit_ok;
}

int temporal_unschedule(invocation& inv, const std::string& name) {
  (void)inv.task(name);
  (void)on_temporal<std::monostate>(inv, [&](temporal::client& c) { return c.delete_schedule(name); });
  inv.out() << name << "\tunscheduled (Temporal schedule deleted)\n";
  return exit_ok;
}

int temporal_schedules(invocation& inv, bool as_json) {
  auto list =
      on_temporal<std::vector<temporal::schedule_info>>(inv, [](temporal::client& c) { return c.list_schedules(); });
  if (as_json) {
    json::array out;
    for (const auto& s : list) {
      const auto* tz = s.spec.if_contains("timezoneName");
      out.push_back(json::object{{"name", s.id},
                                 {"schedule", temporal::describe_spec(s.spec)},
                                 {"timezone", tz != nullptr && tz->is_string() ? tz->get_string() : "UTC"},
                                 {"next", s.next_times.empty() ? std::string("never") : s.next_times.front()},
                                 {"paused", s.paused},
                                 {"overlap", policy_name(s.overlap)},
                                 {"catchup_window", s.catchup_window},
                                 {"workflow", s.workflow_type},
                                 {"backend", "temporal"}});
    }
    inv.out() << net::json_text(out) << '\n';
    return exit_ok;
  }
  for (const auto& s : list) {
    const auto* tz = s.spec.if_contains("timezoneName");
    inv.out() << s.id << '\t' << temporal::describe_spec(s.spec) << '\t'
              << (tz != nullptr && tz->is_string() ? std::string(tz->get_string()) : std::string("UTC")) << '\t'
              << (s.paused               ? std::string("paused")
                  : s.next_times.empty() ? std::string("never")
                                         : s.next_times.front())
              << '\n';
  }
  return exit_ok;
}

int temporal_pause(invocation& inv, const std::string& name, bool paused) {
  (void)inv.task(name);
  const std::string note = paused ? "paused with task pause" : "resumed with task resume";
  (void)on_temporal<std::monostate>(inv, [&](temporal::client& c) { return c.pause_schedule(name, paused, note); });
  inv.out() << name << '\t' << (paused ? "paused" : "resumed") << '\n';
  return exit_ok;
}

namespace {

// `name` and every task it runs after, each with its dependencies.
temporal::dependency_map dependencies_of(const config& cfg, const std::string& name) {
  temporal::dependency_map out;
  std::vector<std::string> todo{name};
  while (!todo.empty()) {
    auto next = std::move(todo.back());
    todo.pop_back();
    if (out.contains(next)) continue;
    const auto* t = cfg.find(next);
    if (t == nullptr) continue;
    out.emplace(next, t->after);
    todo.insert(todo.end(), t->after.begin(), t->after.end());
  }
  return out;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw usage_error("cannot read " + path + ": " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  return std::move(text).str();
}

}  // namespace

int run_replay_history(invocation& inv) {
  po::options_description options("options");
  options.add_options()("path", po::value<std::string>(),
                        "a history file (temporal workflow show -o json, the UI's download)")(
      "workflow-id", po::value<std::string>(), "fetch the history of this workflow from the cluster instead")(
      "run-id", po::value<std::string>(), "with --workflow-id: this run (default: the latest)")(
      "task", po::value<std::string>(), "check against this task's graph (default: the workflow type)")(
      "json", "print the timeline and the verdict as JSON");
  po::positional_options_description positional;
  positional.add("path", 1);
  po::variables_map vm;
  if (!inv.parse(options, positional, vm, "PATH | --workflow-id ID [--run-id R] [--task NAME] [--json]"))
    return exit_ok;
  const bool from_file = vm.count("path") != 0U;
  if (from_file == (vm.count("workflow-id") != 0U)) {
    throw usage_error("give a history file or --workflow-id, one of them; see 'task replay-history --help'");
  }
  if (from_file && vm.count("run-id") != 0U) throw usage_error("--run-id goes with --workflow-id");

  std::vector<temporal::history_event> events;
  std::string source;
  if (from_file) {
    source = vm["path"].as<std::string>();
    if (auto e = temporal::read_history(read_file(source), events)) {
      throw usage_error(source + ": " + (e->index >= 0 ? "event index " + std::to_string(e->index) + ": " : "") +
                        e->message);
    }
  } else {
    temporal::execution exec{vm["workflow-id"].as<std::string>(),
                             vm.count("run-id") != 0U ? vm["run-id"].as<std::string>() : std::string()};
    source = "workflow " + exec.workflow_id;
    auto history = on_temporal<json::array>(inv, [&](temporal::client& c) { return c.history(exec); });
    if (auto e = temporal::read_events(json::value(std::move(history)), events)) {
      throw temporal_error(source + ": event index " + std::to_string(e->index) + ": " + e->message);
    }
  }

  const std::string workflow_type = events.empty() ? std::string() : events.front().workflow_type;
  const std::string task = vm.count("task") != 0U ? vm["task"].as<std::string>() : workflow_type;
  std::optional<temporal::dependency_map> graph;
  if (vm.count("task") != 0U) {
    (void)inv.task(task);
    graph = dependencies_of(inv.cfg(), task);
  } else if (inv.cfg().find(task) != nullptr) {
    graph = dependencies_of(inv.cfg(), task);
  } else {
    inv.err() << "replay: no task '" << core::printable(task)
              << "' in the configuration: the history is checked on its own\n";
  }
  const auto verdict = temporal::check_history(events, graph ? &*graph : nullptr);

  if (vm.count("json") != 0U) {
    json::array timeline;
    for (const auto& ev : events) {
      timeline.push_back(json::object{{"event_id", ev.id},
                                      {"time", ev.time},
                                      {"type", ev.type},
                                      {"activity", ev.activity},
                                      {"attempt", ev.attempt},
                                      {"detail", ev.detail}});
    }
    json::object out{{"source", source},
                     {"workflow_type", workflow_type},
                     {"task", graph ? json::value(task) : json::value(nullptr)},
                     {"events", std::move(timeline)},
                     {"consistent", !verdict.has_value()}};
    if (verdict) {
      out["divergence"] =
          json::object{{"event_id", verdict->event_id}, {"expected", verdict->expected}, {"found", verdict->found}};
    }
    inv.out() << net::json_text(out) << '\n';
  } else {
    for (const auto& ev : events) {
      inv.out() << (ev.time.empty() ? std::string("-") : core::printable(ev.time)) << '\t' << ev.id << '\t'
                << core::printable(ev.type);
      if (!ev.activity.empty()) inv.out() << '\t' << core::printable(ev.activity);
      if (ev.attempt > 1) inv.out() << "\tattempt " << ev.attempt;
      if (!ev.detail.empty()) inv.out() << '\t' << core::printable(ev.detail);
      inv.out() << '\n';
    }
  }
  if (verdict) {
    inv.err() << "replay: " << core::printable(source) << " diverges at event " << verdict->event_id << ": expected "
              << core::printable(verdict->expected) << "; the history has " << core::printable(verdict->found) << '\n';
    return exit_task_failed;
  }
  inv.err() << "replay: " << core::printable(source) << ": " << events.size() << " events, consistent"
            << (graph ? " with the graph of task " + task : std::string(" on its own")) << '\n';
  return exit_ok;
}

}  // namespace cascadence::cli

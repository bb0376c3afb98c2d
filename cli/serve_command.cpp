// `task serve`: the long-running main job. Loads the configuration and the
// schedules, fires cron jobs on one io_context, reloads on SIGHUP and when
// the schedules or task-state files change, and shuts down on SIGINT/SIGTERM:
// stop firing, give running tasks the grace period, cancel the rest, exit 0.
// Runs and fires are counted in a metrics registry, served on /metrics with
// the global --metrics-port.

#include "adapters/metrics/metrics.hpp"
#include "cli/cli.hpp"
#include "cli/invocation.hpp"
#include "cli/metrics_exposure.hpp"
#include "cli/schedules.hpp"
#include "cli/serve_log.hpp"
#include "engine/duration.hpp"
#include "engine/graph.hpp"
#include "engine/runner.hpp"
#include "scheduling/file_watcher.hpp"
#include "scheduling/scheduler_observer_fan_out.hpp"
#include "scheduling/task_state_store.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/program_options.hpp>

#include <csignal>
#include <iostream>
#include <thread>

namespace cascadence::cli {

namespace po = boost::program_options;
namespace asio = boost::asio;

namespace {

// What a reload replaces as one unit; runs in progress keep the graph they
// started with.
struct loaded final {
  config cfg;
  std::shared_ptr<const engine::graph> graph;
  std::map<std::string, bool> enabled_overrides;
};

class server final {
 public:
  server(asio::io_context& io, invocation& inv, loaded initial, std::chrono::milliseconds grace)
      : io_(io),
        log_(inv.out()),
        current_(std::move(initial)),
        grace_(grace),
        pool_(current_.cfg.threads != 0 ? current_.cfg.threads : std::max(1U, std::thread::hardware_concurrency())),
        scheduler_(io.get_executor(), [this](const std::string& task, engine::run_id id, engine::run_canceller& c) {
          return fire(task, id, c);
        }, scheduling::fire_state_store(fire_state_file(current_.cfg)), &scheduler_observers_, &pool_),
        signals_(io, SIGINT, SIGTERM, SIGHUP) {}

  [[nodiscard]] adapters::metrics::metrics& metrics() noexcept { return metrics_; }

  asio::awaitable<void> run() {
    log_.info("serving: backend " + current_.cfg.backend + ", " + std::to_string(current_.graph->size()) +
              " tasks, schedules in " + current_.cfg.storage_path.string());
    apply_schedules();
    std::optional<scheduling::file_watcher> watcher;
    if (current_.cfg.backend == "cron") {
      watcher.emplace(io_.get_executor(),
                      std::vector<std::filesystem::path>{current_.cfg.storage_path, state_file(current_.cfg)});
      asio::co_spawn(io_, watch(*watcher), asio::detached);
    }
    for (;;) {
      auto [ec, sig] = co_await signals_.async_wait(asio::as_tuple(asio::use_awaitable));
      if (ec) break;
      if (sig == SIGHUP) {
        log_.info("SIGHUP: reloading the configuration and the schedules");
        reload(true);
        continue;
      }
      const std::string name = sig == SIGINT ? "SIGINT" : "SIGTERM";
      log_.info(name + ": no more fires; waiting up to " + engine::format_duration(grace_) + " for " +
                std::to_string(scheduler_.running()) + " running fire(s) (send it again to cancel them now)");
      break;
    }
    if (watcher) watcher->close();
    asio::co_spawn(io_, impatient(), asio::detached);
    co_await scheduler_.drain(grace_, "shutdown");
    signals_.cancel();
    log_.info("stopped");
  }

 private:
  asio::awaitable<engine::run_report> fire(const std::string& task, engine::run_id id, engine::run_canceller& c) {
    const auto graph = current_.graph;  // kept alive for this run across reloads
    const auto target = graph->find(task);
    if (!target) throw std::runtime_error("task '" + task + "' is not in the configuration");
    const auto* t = current_.cfg.find(task);
    const auto over = current_.enabled_overrides.find(task);
    const bool enabled = over != current_.enabled_overrides.end() ? over->second : t->settings.enabled;
    if (!enabled) {
      log_.info("task " + task + " is disabled: fire " + id.to_string() + " does not run it");
      engine::run_report report;
      report.id = id;
      report.cancel_reason = "task disabled";
      co_return report;
    }
    engine::run_options options;
    options.max_concurrency = current_.cfg.max_concurrency;
    options.pool = &pool_;
    options.kill_grace = current_.cfg.kill_grace;
    options.observers.push_back(&log_);
    options.observers.push_back(&metrics_.engine_observer());
    options.id = id;
    const engine::task_id targets[] = {*target};
    co_return co_await engine::run_graph(*graph, targets, std::move(options), &c);
  }

  // A second SIGINT/SIGTERM while draining cancels the running fires at once.
  asio::awaitable<void> impatient() {
    for (;;) {
      auto [ec, sig] = co_await signals_.async_wait(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      if (sig == SIGHUP) continue;
      log_.info(std::string(sig == SIGINT ? "SIGINT" : "SIGTERM") + " again: cancelling the running fires now");
      scheduler_.cancel_running("shutdown (signalled twice)");
    }
  }

  asio::awaitable<void> watch(scheduling::file_watcher& watcher) {
    for (;;) {
      try {
        (void)co_await watcher.changed(std::chrono::milliseconds(100));
      } catch (const boost::system::system_error&) {
        co_return;  // closed at shutdown
      }
      log_.info("schedules or task state changed on disk: reloading them");
      reload(false);
    }
  }

  // Re-reads the configuration (on SIGHUP) or only the state files; a
  // configuration that does not load leaves everything as it was.
  void reload(bool config_too) {
    try {
      loaded next{current_.cfg, current_.graph, {}};
      if (config_too) {
        next.cfg = load_config(current_.cfg.source.empty() ? std::nullopt
                                                           : std::optional<std::filesystem::path>(current_.cfg.source));
        next.graph = std::make_shared<const engine::graph>(build_graph(next.cfg));
      }
      next.enabled_overrides = scheduling::task_state_store(state_file(next.cfg)).load();
      current_ = std::move(next);
    } catch (const std::exception& e) {
      log_.on_error(std::string("reload refused, keeping the previous configuration: ") + e.what());
      return;
    }
    apply_schedules();
  }

  void apply_schedules() {
    const auto& cfg = current_.cfg;
    if (cfg.backend != "cron") {
      log_.info("backend " + cfg.backend + ": nothing is fired on a schedule");
      return;
    }
    std::vector<scheduling::active_schedule> active;
    try {
      const auto eff = collect_schedules(cfg, scheduling::schedule_store(cfg.storage_path).load());
      for (const auto& w : eff.warnings) log_.info("warning: " + w);
      for (const auto& e : eff.entries) {
        if (cfg.find(e.task) == nullptr) continue;
        auto a = activate(cfg, e);
        if (auto* err = std::get_if<std::string>(&a)) {
          log_.on_error("schedule of '" + e.task + "' is not fired: " + *err);
          continue;
        }
        active.push_back(std::move(std::get<scheduling::active_schedule>(a)));
      }
    } catch (const std::exception& e) {
      log_.on_error(std::string("cannot read schedules, keeping the previous ones: ") + e.what());
      return;
    }
    log_.info(std::to_string(active.size()) + " schedule(s) active");
    scheduler_.apply(std::move(active));
  }

  asio::io_context& io_;
  serve_log log_;
  adapters::metrics::metrics metrics_;
  scheduling::scheduler_observer_fan_out scheduler_observers_{&log_, &metrics_.scheduler_observer()};
  loaded current_;
  std::chrono::milliseconds grace_;
  asio::thread_pool pool_;
  scheduling::cron_scheduler scheduler_;
  asio::signal_set signals_;
};

}  // namespace

int run_serve(invocation& inv) {
  po::options_description options("options");
  options.add_options()("grace", po::value<std::string>(),
                        "on SIGINT/SIGTERM, wait this long for running tasks before cancelling them "
                        "(default: shutdown_grace, 30s)");
  po::variables_map vm;
  if (!inv.parse(options, {}, vm, "[--grace DURATION]")) return exit_ok;
  const auto& cfg = inv.cfg();
  if (cfg.backend == "temporal") {
    throw usage_error("backend 'temporal' is not available yet (the Temporal adapter is not part of this build; "
                      "use backend: cron or base)");
  }
  auto grace = cfg.shutdown_grace;
  if (vm.count("grace") != 0U) {
    auto d = engine::parse_duration(vm["grace"].as<std::string>());
    if (!d) throw usage_error("--grace: invalid duration '" + vm["grace"].as<std::string>() + "'");
    grace = *d;
  }
  loaded initial{cfg, std::make_shared<const engine::graph>(build_graph(cfg)),
                 scheduling::task_state_store(state_file(cfg)).load()};
  asio::io_context io;
  server srv(io, inv, std::move(initial), grace);
  metrics_exposure exposure(io.get_executor(), inv.metrics(), srv.metrics(), inv.err());
  exposure.start();
  std::exception_ptr failure;
  auto serve = [&]() -> asio::awaitable<void> {
    try {
      co_await srv.run();
    } catch (...) {
      failure = std::current_exception();
    }
    (void)co_await exposure.finish();
  };
  asio::co_spawn(io, serve(), [&](const std::exception_ptr& e) {
    if (e && !failure) failure = e;
  });
  io.run();
  if (failure) std::rethrow_exception(failure);
  return exit_ok;
}

}  // namespace cascadence::cli

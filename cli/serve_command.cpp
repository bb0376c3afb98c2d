// `task serve`: the long-running main job. Loads the configuration and the
// schedules, fires cron jobs on one io_context, reloads on SIGHUP and when
// the schedules or task-state files change, and shuts down on SIGINT/SIGTERM:
// stop firing, give running tasks the grace period, cancel the rest, exit 0.
// The same loop serves HTTP (webhooks, the REST API, /healthz, /metrics);
// `task webhook` is this loop without firing schedules. Runs and fires are
// counted in a metrics registry, also served with the global --metrics-port.

#include "adapters/api/api_service.hpp"
#include "adapters/metrics/http_metrics.hpp"
#include "adapters/metrics/metrics.hpp"
#include "adapters/metrics/webhook_metrics.hpp"
#include "adapters/webhooks/webhook_routes.hpp"
#include "cli/cli.hpp"
#include "cli/http_front.hpp"
#include "cli/invocation.hpp"
#include "cli/metrics_exposure.hpp"
#include "cli/schedules.hpp"
#include "cli/serve_log.hpp"
#include "cli/webhook_subscriptions.hpp"
#include "engine/duration.hpp"
#include "engine/graph.hpp"
#include "engine/runner.hpp"
#include "net/router.hpp"
#include "scheduling/file_watcher.hpp"
#include "scheduling/scheduler_observer_fan_out.hpp"
#include "scheduling/task_state_store.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/program_options.hpp>

#include <algorithm>
#include <csignal>
#include <iostream>
#include <set>
#include <thread>
#include <variant>

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

net::server_options observed_by(net::server_options options, net::server_observer& observer) {
  options.observer = &observer;
  return options;
}

class server final {
 public:
  server(asio::io_context& io, invocation& inv, loaded initial, std::chrono::milliseconds grace, listen_address at,
         bool fire_schedules)
      : io_(io),
        log_(inv.out()),
        current_(std::move(initial)),
        grace_(grace),
        pool_(current_.cfg.threads != 0 ? current_.cfg.threads : std::max(1U, std::thread::hardware_concurrency())),
        scheduler_(
            io.get_executor(),
            [this](const std::string& task, engine::run_id id, engine::run_canceller& c, scheduling::fire_done done) {
              fire(task, id, c, std::move(done));
            },
            scheduling::fire_state_store(fire_state_file(current_.cfg)), &scheduler_observers_, &pool_),
        signals_(io, SIGINT, SIGTERM, SIGHUP),
        fire_schedules_(fire_schedules),
        webhooks_(make_webhooks(current_.cfg)),
        api_(std::make_shared<adapters::api::api_service>(io.get_executor(), std::make_shared<api_bridge>(*this),
                                                          api_options_of(current_.cfg, at))),
        http_(io.get_executor(), build_routes(), observed_by(server_options_of(current_.cfg, at), http_metrics_)),
        at_(std::move(at)) {}

  [[nodiscard]] adapters::metrics::metrics& metrics() noexcept { return metrics_; }

  asio::awaitable<void> run() {
    if (const auto ec = http_.start()) {
      throw usage_error("cannot listen on " + at_.host + ":" + std::to_string(at_.port) + " (" + ec.message() + ")");
    }
    const bool v6 = at_.host.find(':') != std::string::npos;
    log_.info("listening on http://" + (v6 ? "[" + at_.host + "]" : at_.host) + ":" + std::to_string(http_.port()));
    if (!fire_schedules_) {
      log_.info("webhook mode: " + std::to_string(current_.graph->size()) + " tasks; nothing is fired on a schedule");
    } else {
      log_.info("serving: backend " + current_.cfg.backend + ", " + std::to_string(current_.graph->size()) +
                " tasks, schedules in " + current_.cfg.storage_path.string());
      apply_schedules();
    }
    std::optional<scheduling::file_watcher> watcher;
    if (fire_schedules_ && current_.cfg.backend == "cron") {
      watcher.emplace(io_.get_executor(),
                      std::vector<std::filesystem::path>{current_.cfg.storage_path, state_file(current_.cfg)});
      asio::co_spawn(io_, watch(*watcher), asio::detached);
    }
    for (;;) {
      auto [ec, sig] = co_await signals_.async_wait(asio::as_tuple(asio::use_awaitable));
      if (ec) break;
      if (sig == SIGHUP) {
        log_.info("SIGHUP: reloading the configuration, the schedules and the webhook subscriptions");
        reload(true);
        continue;
      }
      const std::string name = sig == SIGINT ? "SIGINT" : "SIGTERM";
      log_.info(name + ": no more fires or requests; waiting up to " + engine::format_duration(grace_) + " for " +
                std::to_string(scheduler_.running() + adhoc_.size()) +
                " running fire(s) and requests (send it again to cancel them now)");
      break;
    }
    if (watcher) watcher->close();
    const auto deadline = std::chrono::steady_clock::now() + grace_;
    http_.stop(grace_);
    asio::co_spawn(io_, impatient(), asio::detached);
    co_await scheduler_.drain(grace_, "shutdown");
    co_await http_.wait_stopped();
    // Webhook and API runs get what is left of the grace period.
    asio::steady_timer tick(io_);
    while (!adhoc_.empty() && std::chrono::steady_clock::now() < deadline) {
      tick.expires_after(std::chrono::milliseconds(50));
      (void)co_await tick.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    cancel_adhoc("shutdown");
    signals_.cancel();
    log_.info("stopped");
  }

 private:
  // A cron fire: a callback rather than a coroutine, so a fire costs no
  // frames of its own. `done` is never called from inside this call.
  void fire(const std::string& task, engine::run_id id, engine::run_canceller& c, scheduling::fire_done done) {
    auto graph = current_.graph;  // kept alive for this run across reloads
    auto run = prepare(*graph, task, id, nullptr, std::nullopt);
    if (auto* report = std::get_if<engine::run_report>(&run)) {
      asio::post(io_,
                 [done = std::move(done), report = std::move(*report)]() mutable { done(nullptr, std::move(report)); });
      return;
    }
    auto& [target, options] = std::get<prepared_run>(run);
    engine::async_run_graph(
        io_.get_executor(), *graph, std::span<const engine::task_id>(&target, 1), std::move(options), &c,
        [graph, done = std::move(done)](engine::run_report report) { done(nullptr, std::move(report)); });
  }

  struct prepared_run {
    engine::task_id target;
    engine::run_options options;
  };

  // What a run of `task` with its dependencies on `graph` needs, or the
  // report of a run that does not happen (the task is disabled).
  std::variant<prepared_run, engine::run_report> prepare(const engine::graph& graph, const std::string& task,
                                                         engine::run_id id, boost::json::value input,
                                                         std::optional<engine::run_event> event) {
    const auto target = graph.find(task);
    if (!target) throw std::runtime_error("task '" + task + "' is not in the configuration");
    const auto* t = current_.cfg.find(task);
    const auto over = current_.enabled_overrides.find(task);
    const bool enabled = over != current_.enabled_overrides.end() ? over->second : t->settings.enabled;
    if (!enabled) {
      log_.info("task " + task + " is disabled: fire " + id.to_string() + " does not run it");
      engine::run_report report;
      report.id = id;
      report.cancel_reason = "task disabled";
      return report;
    }
    prepared_run run{*target, {}};
    auto& options = run.options;
    options.max_concurrency = current_.cfg.max_concurrency;
    options.pool = &pool_;
    options.kill_grace = current_.cfg.kill_grace;
    options.observers.push_back(&log_);
    options.observers.push_back(&metrics_.engine_observer());
    options.id = id;
    options.input = std::move(input);
    options.event = std::move(event);
    return run;
  }

  // Runs `task` with its dependencies on the current graph; the graph comes
  // back with the report so its task ids can be named after a reload.
  asio::awaitable<std::pair<std::shared_ptr<const engine::graph>, engine::run_report>> launch(
      const std::string& task, engine::run_id id, engine::run_canceller& c, boost::json::value input,
      std::optional<engine::run_event> event) {
    const auto graph = current_.graph;
    auto run = prepare(*graph, task, id, std::move(input), std::move(event));
    if (auto* report = std::get_if<engine::run_report>(&run)) co_return std::pair{graph, std::move(*report)};
    auto& [target, options] = std::get<prepared_run>(run);
    const engine::task_id targets[] = {target};
    co_return std::pair{graph, co_await engine::run_graph(*graph, targets, std::move(options), &c)};
  }

  // A run started by HTTP (webhook delivery, REST API): cancelled if still
  // going when shutdown's grace period is over.
  asio::awaitable<std::pair<std::shared_ptr<const engine::graph>, engine::run_report>> launch_adhoc(
      std::string task, engine::run_id id, boost::json::value input, std::optional<engine::run_event> event) {
    engine::run_canceller c;
    adhoc_.insert(&c);
    struct forget final {
      std::set<engine::run_canceller*>& set;
      engine::run_canceller* c;
      ~forget() { set.erase(c); }
    } guard{adhoc_, &c};
    co_return co_await launch(task, id, c, std::move(input), std::move(event));
  }

  void cancel_adhoc(const std::string& reason) {
    // Cancelling may end a run (and unregister it) before the loop goes on.
    const std::vector<engine::run_canceller*> running(adhoc_.begin(), adhoc_.end());
    for (auto* c : running) {
      if (adhoc_.contains(c) && !c->requested()) c->cancel(reason);
    }
  }

  // The REST API's view of this server.
  class api_bridge final : public adapters::api::api_backend {
   public:
    explicit api_bridge(server& s) : s_(s) {}
    std::vector<adapters::api::task_summary> tasks() const override { return s_.task_summaries(); }
    bool has_task(std::string_view name) const override { return s_.current_.cfg.find(name) != nullptr; }
    asio::awaitable<adapters::api::finished_run> run(std::string task, boost::json::value input,
                                                     engine::run_id id) override {
      auto [graph, report] = co_await s_.launch_adhoc(std::move(task), id, std::move(input), std::nullopt);
      co_return to_finished_run(*graph, report);
    }

   private:
    server& s_;
  };

  std::vector<adapters::api::task_summary> task_summaries() const {
    std::map<std::string, std::string, std::less<>> schedules;
    try {
      const auto eff = collect_schedules(current_.cfg, scheduling::schedule_store(current_.cfg.storage_path).load());
      for (const auto& e : eff.entries) schedules[e.task] = e.expression;
    } catch (const std::exception&) {
      // An unreadable schedules file shows as no schedules; serve logs it.
    }
    std::vector<adapters::api::task_summary> out;
    for (const auto& t : current_.cfg.tasks) {
      const auto over = current_.enabled_overrides.find(t.name);
      const auto sched = schedules.find(t.name);
      out.push_back({t.name, std::string(engine::to_string(t.settings.kind)),
                     over != current_.enabled_overrides.end() ? over->second : t.settings.enabled,
                     sched != schedules.end() ? sched->second : std::string()});
    }
    return out;
  }

  // Every HTTP route of the server. Other routes (e.g. /metrics) are added
  // here, before the server starts.
  net::router build_routes() {
    net::router routes;
    adapters::api::add_health_route(routes);
    adapters::api::add_api_routes(routes, api_);
    add_metrics_route(routes, metrics_);
    // Each request reads the registry in force: a reload swaps it, requests
    // and deliveries in flight keep the one they started with.
    adapters::webhooks::add_webhook_routes(
        routes, io_.get_executor(), [this] { return webhooks_; }, [this](std::string_view m) { log_.on_error(m); },
        &webhook_metrics_);
    return routes;
  }

  // The sources, secrets and subscriptions of `cfg`; each subscribed task
  // runs on the current graph with the event as its input.
  std::shared_ptr<const adapters::webhooks::webhook_registry> make_webhooks(const config& cfg) {
    return make_webhook_registry(
        cfg, [this](std::string task, engine::run_event event, boost::json::value payload) -> asio::awaitable<void> {
          log_.info("webhook " + event.source + "/" + event.type + ": running " + task);
          const auto id = engine::run_id::random();
          (void)co_await launch_adhoc(std::move(task), id, std::move(payload), std::move(event));
        });
  }

  // A second SIGINT/SIGTERM while draining cancels the running fires at once.
  asio::awaitable<void> impatient() {
    for (;;) {
      auto [ec, sig] = co_await signals_.async_wait(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;
      if (sig == SIGHUP) continue;
      log_.info(std::string(sig == SIGINT ? "SIGINT" : "SIGTERM") + " again: cancelling the running fires now");
      scheduler_.cancel_running("shutdown (signalled twice)");
      cancel_adhoc("shutdown (signalled twice)");
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

  // Re-reads the configuration with its webhook subscriptions and secrets
  // (on SIGHUP) or only the state files; a configuration that does not load
  // leaves everything as it was.
  void reload(bool config_too) {
    try {
      loaded next{current_.cfg, current_.graph, {}};
      std::shared_ptr<const adapters::webhooks::webhook_registry> webhooks;
      if (config_too) {
        next.cfg = load_config(current_.cfg.source.empty() ? std::nullopt
                                                           : std::optional<std::filesystem::path>(current_.cfg.source));
        next.graph = std::make_shared<const engine::graph>(build_graph(next.cfg));
        webhooks = make_webhooks(next.cfg);
      }
      next.enabled_overrides = scheduling::task_state_store(state_file(next.cfg)).load();
      current_ = std::move(next);
      if (webhooks) {
        webhooks_ = std::move(webhooks);
        const auto subscribed = std::count_if(current_.cfg.tasks.begin(), current_.cfg.tasks.end(),
                                              [](const auto& t) { return t.on.has_value(); });
        log_.info("configuration reloaded: " + std::to_string(current_.graph->size()) + " tasks, " +
                  std::to_string(subscribed) + " webhook subscription(s)");
      }
    } catch (const std::exception& e) {
      log_.on_error(std::string("reload refused, keeping the previous configuration: ") + e.what());
      return;
    }
    if (fire_schedules_) apply_schedules();
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
  adapters::metrics::http_metrics http_metrics_{metrics_};
  adapters::metrics::webhook_metrics webhook_metrics_{metrics_};
  loaded current_;
  std::chrono::milliseconds grace_;
  asio::thread_pool pool_;
  scheduling::cron_scheduler scheduler_;
  asio::signal_set signals_;
  bool fire_schedules_;
  std::set<engine::run_canceller*> adhoc_;
  // The webhook registry in force; replaced whole by a reload.
  std::shared_ptr<const adapters::webhooks::webhook_registry> webhooks_;
  std::shared_ptr<adapters::api::api_service> api_;
  net::http_server http_;
  listen_address at_;
};

}  // namespace

namespace {

int serve_main(invocation& inv, bool fire_schedules) {
  po::options_description options("options");
  options.add_options()("grace", po::value<std::string>(),
                        "on SIGINT/SIGTERM, wait this long for running tasks and HTTP requests before cancelling "
                        "them (default: shutdown_grace, 30s)")(
      "host", po::value<std::string>()->default_value("127.0.0.1"),
      "address to serve HTTP on (webhooks, REST API, /healthz); off loopback the API needs a token")(
      "port", po::value<unsigned>()->default_value(8000), "port to serve HTTP on; 0 picks a free one");
  po::variables_map vm;
  if (!inv.parse(options, {}, vm, "[--host H] [--port P] [--grace DURATION]")) return exit_ok;
  listen_address at;
  at.host = vm["host"].as<std::string>();
  if (at.host.empty()) throw usage_error("--host: empty address");
  if (vm["port"].as<unsigned>() > 65535)
    throw usage_error("--port: " + std::to_string(vm["port"].as<unsigned>()) + " is not a port (0 to 65535)");
  at.port = static_cast<std::uint16_t>(vm["port"].as<unsigned>());
  const auto& cfg = inv.cfg();
  if (cfg.backend == "temporal") {
    throw usage_error(
        "backend 'temporal' is not available yet (the Temporal adapter is not part of this build; "
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
  server srv(io, inv, std::move(initial), grace, std::move(at), fire_schedules);
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

}  // namespace

int run_serve(invocation& inv) {
  return serve_main(inv, true);
}

int run_webhook(invocation& inv) {
  return serve_main(inv, false);
}

}  // namespace cascadence::cli

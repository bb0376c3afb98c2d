#include "service/runtime.hpp"

#include "adapters/api/api_service.hpp"
#include "adapters/events/emitter.hpp"
#include "adapters/events/user_hash.hpp"
#include "adapters/metrics/http_metrics.hpp"
#include "adapters/metrics/metrics.hpp"
#include "adapters/metrics/metrics_route.hpp"
#include "adapters/metrics/webhook_metrics.hpp"
#include "adapters/webhooks/webhook_journal.hpp"
#include "adapters/webhooks/webhook_routes.hpp"
#include "core/async_event.hpp"
#include "core/concurrency_limit.hpp"
#include "core/spawn.hpp"
#include "engine/graph.hpp"
#include "engine/runner.hpp"
#include "net/http_server.hpp"
#include "net/json.hpp"
#include "net/router.hpp"
#include "scheduling/cron_scheduler.hpp"
#include "scheduling/file_watcher.hpp"
#include "scheduling/schedule_store.hpp"
#include "scheduling/scheduler_observer_fan_out.hpp"
#include "scheduling/task_state_store.hpp"
#include "service/plugin_loading.hpp"
#include "service/remote_tasks.hpp"
#include "service/run_events.hpp"
#include "service/run_report_json.hpp"
#include "service/schedules.hpp"
#include "service/serve_log.hpp"
#include "service/temporal_tasks.hpp"
#include "service/webhook_subscriptions.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <boost/system/system_error.hpp>

#include <sys/inotify.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <set>

namespace cascadence::service {

namespace asio = boost::asio;

namespace {

// What a reload replaces as one unit; runs in progress keep the graph they
// started with.
struct loaded final {
  config cfg;
  std::shared_ptr<const engine::graph> graph;
  std::map<std::string, bool> enabled_overrides;
  // The graph's plugin processors hold their plugins; these are what the next reload compares against.
  std::shared_ptr<const plugins::registry> plugins;
  std::vector<std::string> plugin_errors;
};

// Editors and copy tools write beside the file first: those names never hold a plugin.
bool temporary_name(std::string_view name) {
  return name.empty() || name.front() == '.' || name.back() == '~' || name.ends_with(".tmp") ||
         name.ends_with(".swp") || name.ends_with(".swx");
}

net::server_options observed_by(net::server_options options, net::server_observer& observer) {
  options.observer = &observer;
  return options;
}

}  // namespace

struct runtime::impl final {
  impl(asio::any_io_executor executor, asio::thread_pool& pool, config cfg, runtime_options opts, std::ostream& out)
      : ex(std::move(executor)),
        pool(pool),
        options(std::move(opts)),
        log(out),
        plugin_log(out),
        remote(make_remote(cfg)),
        current(load(std::move(cfg), nullptr)),
        scheduler(
            ex,
            [this](const std::string& task, engine::run_id id, engine::run_canceller& c, scheduling::fire_done done) {
              fire(task, id, c, std::move(done));
            },
            scheduling::fire_state_store(fire_state_file(current.cfg)), &scheduler_observers, &pool),
        http_runs(current.cfg.http.max_runs,
                  [this](std::size_t in_use, bool refused) {
                    if (refused) {
                      metrics.record_http_run_refused();
                    } else {
                      metrics.set_http_runs_in_flight(in_use);
                    }
                  }),
        adhoc(ex),
        webhooks(make_webhooks(current.cfg)),
        api(std::make_shared<adapters::api::api_service>(ex, std::make_shared<api_bridge>(*this),
                                                         api_options(current.cfg))) {
    metrics.set_http_runs_limit(http_runs.limit());
    events = make_event_emitter(current.cfg, ex, metrics, [this](const std::string& line) { log.on_error(line); });
    event_drain = event_drain_time(current.cfg);
    if (current.cfg.webhook_journal.enabled) {
      const auto& j = current.cfg.webhook_journal;
      journal = std::make_unique<adapters::webhooks::webhook_journal>(
          ex, pool,
          adapters::webhooks::journal_options{state_file(current.cfg).parent_path() / "webhook-journal", j.max_bytes,
                                              j.dedupe_window});
    }
    if (options.serve_http) {
      net::router routes;
      add_routes(routes);
      http.emplace(ex, std::move(routes), observed_by(server_options_of(current.cfg, options.listen), http_metrics));
    }
  }

  // The remote plugin server's tasks join every configuration loaded.
  static std::shared_ptr<remote_tasks> make_remote(const config& cfg) {
    auto s = remote_settings(cfg);
    return s ? std::make_shared<remote_tasks>(std::move(*s)) : nullptr;
  }

  plugins::load_result load_plugins_of(const config& cfg, std::shared_ptr<const plugins::registry> previous) {
    plugins::load_options o;
    o.pool = &pool;
    o.log = &plugin_log;
    o.previous = std::move(previous);
    auto result = load_configured_plugins(cfg, o);
    for (const auto& e : result.errors) log.on_error("plugin not loaded: " + e);
    return result;
  }

  // With backend temporal every run started here (webhooks, the REST API)
  // starts the task's workflow on the cluster.
  static std::shared_ptr<const engine::graph> graph_of(const config& cfg, const plugins::registry& plugins) {
    if (cfg.backend == "temporal") return std::make_shared<const engine::graph>(build_temporal_graph(cfg));
    return std::make_shared<const engine::graph>(build_graph(cfg, plugins));
  }

  // A plugin that does not load is logged and skipped; a task naming one of its processors then makes the
  // configuration invalid, like any unknown name.
  loaded load(config cfg, std::shared_ptr<const plugins::registry> previous) {
    if (remote) {
      for (const auto& note : remote->apply(cfg)) log.info(note);
    }
    auto plugged = load_plugins_of(cfg, previous);
    auto graph = graph_of(cfg, *plugged.plugins);
    auto overrides = scheduling::task_state_store(state_file(cfg)).load();
    if (previous) {
      for (const auto& c : plugins::diff(*previous, *plugged.plugins)) log.info(plugins::describe(c));
    } else {
      for (const auto& p : plugged.plugins->providers()) {
        log.info("plugins: loaded " + p->descriptor().name + " " + p->descriptor().version + " (" +
                 p->file().path.string() + ", " + std::string(plugins::to_string(p->isolation())) + ", " +
                 std::to_string(p->descriptor().processors.size()) + " processors)");
      }
    }
    return loaded{std::move(cfg), std::move(graph), std::move(overrides), std::move(plugged.plugins),
                  std::move(plugged.errors)};
  }

  plugin_reload reload_plugins() {
    plugin_reload r;
    if (stopping) {
      r.applied = false;
      r.errors.emplace_back("the service is stopping");
      return r;
    }
    try {
      auto plugged = load_plugins_of(current.cfg, current.plugins);
      r.errors = plugged.errors;
      r.changes = plugins::diff(*current.plugins, *plugged.plugins);
      auto graph = graph_of(current.cfg, *plugged.plugins);
      current.graph = std::move(graph);
      current.plugins = std::move(plugged.plugins);
      current.plugin_errors = std::move(plugged.errors);
      for (const auto& c : r.changes) log.info(plugins::describe(c));
      if (r.changes.empty()) log.info("plugins: reloaded, nothing changed");
    } catch (const std::exception& e) {
      r.applied = false;
      r.changes.clear();
      r.errors.push_back(std::string("plugin reload refused, keeping the plugins in force: ") + e.what());
      log.on_error(r.errors.back());
    }
    sync_plugin_watches();
    return r;
  }

  // inotify on every plugin directory, on the loop: a change is reloaded once 200 ms passed without another.
  void watch_plugins() {
    const int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0) {
      log.on_error("cannot watch the plugin directories (inotify_init1 failed)");
      return;
    }
    inotify.emplace(ex, fd);
    sync_plugin_watches();
    core::spawn(ex, read_plugin_events(), "plugin-watcher", escape_handler());
  }

  void sync_plugin_watches() {
    if (!inotify || !inotify->is_open()) return;
    const int fd = inotify->native_handle();
    for (const auto& [wd, dir] : plugin_watches) ::inotify_rm_watch(fd, wd);
    plugin_watches.clear();
    for (const auto& dir : current.plugins->directories()) {
      const int wd = ::inotify_add_watch(fd, dir.c_str(), IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE);
      if (wd < 0) {
        log.on_error("cannot watch plugin directory " + dir.string());
        continue;
      }
      plugin_watches[wd] = dir;
    }
  }

  asio::awaitable<void> read_plugin_events() {
    // GCC 12 does not honour alignas for a coroutine frame's locals, so the
    // fields of each event are copied out rather than read in place.
    std::array<char, 16 * 1024> buffer{};
    for (;;) {
      auto [ec, n] = co_await inotify->async_read_some(asio::buffer(buffer), asio::as_tuple(asio::use_awaitable));
      if (ec) co_return;  // closed by stop()
      bool relevant = false;
      for (std::size_t at = 0; at + sizeof(inotify_event) <= n;) {
        std::uint32_t mask = 0;
        std::uint32_t len = 0;
        std::memcpy(&mask, buffer.data() + at + offsetof(inotify_event, mask), sizeof mask);
        std::memcpy(&len, buffer.data() + at + offsetof(inotify_event, len), sizeof len);
        const char* name_at = buffer.data() + at + sizeof(inotify_event);
        const std::string_view name =
            len != 0 ? std::string_view(name_at, ::strnlen(name_at, len)) : std::string_view();
        if ((mask & IN_Q_OVERFLOW) != 0 || !temporary_name(name)) relevant = true;
        at += sizeof(inotify_event) + len;
      }
      if (!relevant) continue;
      plugin_quiet_until = std::chrono::steady_clock::now() + std::chrono::milliseconds(200);
      if (!plugin_debouncing) {
        plugin_debouncing = true;
        core::spawn(ex, debounce_plugin_reload(), "plugin-reload", escape_handler());
      }
    }
  }

  asio::awaitable<void> debounce_plugin_reload() {
    while (!stopping && std::chrono::steady_clock::now() < plugin_quiet_until) {
      plugin_timer.expires_at(plugin_quiet_until);
      (void)co_await plugin_timer.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    plugin_debouncing = false;
    if (stopping) co_return;
    log.info("plugins: a plugin directory changed: reloading the plugins");
    (void)reload_plugins();
  }

  adapters::api::api_options api_options(const config& cfg) {
    auto o = api_options_of(cfg, options.listen);
    o.run_limit = &http_runs;
    o.on_escape = escape_handler();
    return o;
  }

  // Logs and counts an exception that escaped a background coroutine; the
  // series is labelled by the first word of its name ("api-run of deploy"
  // counts as "api-run"), so task names never become label values.
  core::escape_handler escape_handler() {
    return [this](std::string_view what, std::string_view why) {
      metrics.record_internal_error(what.substr(0, what.find(' ')));
      log.on_error(std::string(what) + " ended with an unexpected exception: " + std::string(why));
    };
  }

  void start() {
    std::vector<adapters::webhooks::journaled_event> undelivered;
    if (journal) {
      try {
        undelivered = journal->open();
      } catch (const std::exception& e) {
        throw start_error(std::string("cannot use the webhook journal: ") + e.what());
      }
    }
    if (remote) {
      refresher.emplace(
          ex, remote, [this] { (void)reload(current.cfg); }, [this](const std::string& m) { log.info(m); },
          [this](const std::string& m) { log.on_error(m); });
      refresher->start();
    }
    if (http) {
      if (const auto ec = http->start()) {
        throw start_error("cannot listen on " + options.listen.host + ":" + std::to_string(options.listen.port) + " (" +
                          ec.message() + ")");
      }
      const auto& host = options.listen.host;
      const bool v6 = host.find(':') != std::string::npos;
      log.info("listening on http://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(http->port()));
    }
    if (events) log.info("events: sending run events with the " + std::string(events->transport_name()) + " transport");
    redeliver(std::move(undelivered));
    if (!options.fire_schedules) {
      watch_plugins();
      log.info("webhook mode: " + std::to_string(current.graph->size()) + " tasks; nothing is fired on a schedule");
      return;
    }
    log.info("serving: backend " + current.cfg.backend + ", " + std::to_string(current.graph->size()) +
             " tasks, schedules in " + current.cfg.storage_path.string());
    apply_schedules();
    watch_plugins();
    if (current.cfg.backend == "cron") {
      watcher.emplace(ex, std::vector<std::filesystem::path>{current.cfg.storage_path, state_file(current.cfg)});
      core::spawn(ex, watch(), "file-watcher", escape_handler());
    }
  }

  // A cron fire: a callback rather than a coroutine, so a fire costs no
  // frames of its own. `done` is never called from inside this call.
  void fire(const std::string& task, engine::run_id id, engine::run_canceller& c, scheduling::fire_done done) {
    auto graph = current.graph;  // kept alive for this run across reloads
    auto run = prepare(*graph, task, id, nullptr, std::nullopt);
    if (!run) {
      asio::post(ex, [done = std::move(done), report = std::move(run).error()]() mutable {
        done(nullptr, std::move(report));
      });
      return;
    }
    auto& [target, run_opts] = run.value();
    engine::async_run_graph(
        ex, *graph, std::span<const engine::task_id>(&target, 1), std::move(run_opts), &c,
        [graph, done = std::move(done)](engine::run_report report) { done(nullptr, std::move(report)); });
  }

  struct prepared_run final {
    engine::task_id target;
    engine::run_options options;
  };

  // What a run of `task` with its dependencies on `graph` needs, or the
  // report of a run that does not happen (the task is disabled).
  core::result<prepared_run, engine::run_report> prepare(const engine::graph& graph, const std::string& task,
                                                         engine::run_id id, boost::json::value input,
                                                         std::optional<engine::run_event> event,
                                                         std::string user_hash = {}) {
    const auto target = graph.find(task);
    if (!target) throw std::runtime_error("task '" + task + "' is not in the configuration");
    const auto* t = current.cfg.find(task);
    const auto over = current.enabled_overrides.find(task);
    const bool enabled = over != current.enabled_overrides.end() ? over->second : t->settings.enabled;
    if (!enabled) {
      log.info("task " + task + " is disabled: fire " + id.to_string() + " does not run it");
      engine::run_report report;
      report.id = id;
      report.cancel_reason = "task disabled";
      return report;
    }
    prepared_run run{*target, {}};
    auto& o = run.options;
    o.max_concurrency = current.cfg.max_concurrency;
    o.pool = &pool;
    o.kill_grace = current.cfg.kill_grace;
    o.observers.push_back(&log);
    o.observers.push_back(&metrics.engine_observer());
    if (events) o.observers.push_back(events.get());
    o.user_hash = std::move(user_hash);
    o.id = id;
    o.input = std::move(input);
    o.event = std::move(event);
    return run;
  }

  // A run started over HTTP (webhook delivery, REST API) on the current
  // graph, which comes back with the report so its task ids can be named
  // after a reload. Counted in `adhoc` so that stop() can wait for it, and
  // cancelled if still going when the grace period is over.
  asio::awaitable<std::pair<std::shared_ptr<const engine::graph>, engine::run_report>> launch_adhoc(
      std::string task, engine::run_id id, boost::json::value input, std::optional<engine::run_event> event,
      std::string user_hash = {}, bool with_dependencies = true) {
    const core::wait_group::token counted(adhoc);
    engine::run_canceller c;
    adhoc_cancellers.insert(&c);
    struct forget final {
      std::set<engine::run_canceller*>& set;
      engine::run_canceller* c;
      ~forget() { set.erase(c); }
    } guard{adhoc_cancellers, &c};
    const auto graph = current.graph;
    auto run = prepare(*graph, task, id, std::move(input), std::move(event), std::move(user_hash));
    if (!run) co_return std::pair{graph, std::move(run).error()};
    auto& [target, run_opts] = run.value();
    run_opts.dependencies = with_dependencies;
    const engine::task_id targets[] = {target};
    co_return std::pair{graph, co_await engine::run_graph(*graph, targets, std::move(run_opts), &c)};
  }

  void cancel_adhoc(const std::string& reason) {
    // Cancelling may end a run (and unregister it) before the loop goes on.
    const std::vector<engine::run_canceller*> going(adhoc_cancellers.begin(), adhoc_cancellers.end());
    for (auto* c : going) {
      if (adhoc_cancellers.contains(c) && !c->requested()) c->cancel(reason);
    }
  }

  // The REST API's view of this service.
  class api_bridge final : public adapters::api::api_backend {
   public:
    explicit api_bridge(impl& s) : s_(s) {}
    std::vector<adapters::api::task_summary> tasks() const override { return s_.task_summaries(); }
    bool has_task(std::string_view name) const override { return s_.current.cfg.find(name) != nullptr; }
    asio::awaitable<adapters::api::finished_run> run(std::string task, boost::json::value input, engine::run_id id,
                                                     bool with_dependencies, std::string user_hash) override {
      auto [graph, report] = co_await s_.launch_adhoc(std::move(task), id, std::move(input), std::nullopt,
                                                      std::move(user_hash), with_dependencies);
      co_return to_finished_run(*graph, report);
    }

   private:
    impl& s_;
  };

  std::vector<adapters::api::task_summary> task_summaries() const {
    std::map<std::string, std::string, std::less<>> schedules;
    try {
      const auto eff = collect_schedules(current.cfg, scheduling::schedule_store(current.cfg.storage_path).load());
      for (const auto& e : eff.entries) schedules[e.task] = e.expression;
    } catch (const std::exception&) {
      // An unreadable schedules file shows as no schedules; serve logs it.
    }
    std::vector<adapters::api::task_summary> out;
    for (const auto& t : current.cfg.tasks) {
      const auto over = current.enabled_overrides.find(t.name);
      const auto sched = schedules.find(t.name);
      out.push_back({t.name, std::string(engine::to_string(t.settings.kind)),
                     over != current.enabled_overrides.end() ? over->second : t.settings.enabled,
                     sched != schedules.end() ? sched->second : std::string()});
    }
    return out;
  }

  void add_routes(net::router& routes) {
    adapters::api::add_health_route(routes);
    adapters::api::add_api_routes(routes, api);
    adapters::metrics::add_metrics_route(routes, metrics);
    routes.get("/api/v1/plugins", [this](net::request& req) -> net::response {
      if (auto denied = api->check_auth(req)) return std::move(*denied);
      return net::json_response(200, plugins_json(*current.plugins, current.plugin_errors));
    });
    routes.post("/api/v1/plugins/reload", [this](net::request& req) -> net::response {
      if (auto denied = api->check_auth(req)) return std::move(*denied);
      const auto r = reload_plugins();
      boost::json::array errors;
      for (const auto& e : r.errors) errors.emplace_back(e);
      return net::json_response(
          200, boost::json::object{{"applied", r.applied}, {"changes", changes_json(r.changes)}, {"errors", errors}});
    });
    // Each request reads the registry in force: a reload swaps it, requests
    // and deliveries in flight keep the one they started with.
    adapters::webhooks::add_webhook_routes(
        routes, ex, [this] { return webhooks; }, [this](std::string_view m) { log.on_error(m); }, &webhook_metrics,
        &http_runs, journal.get());
  }

  // The sources, secrets and subscriptions of `cfg`; each subscribed task
  // runs on the current graph with the event as its input.
  std::shared_ptr<const adapters::webhooks::webhook_registry> make_webhooks(const config& cfg) {
    return make_webhook_registry(
        cfg, [this](std::string task, engine::run_event event, boost::json::value payload) -> asio::awaitable<void> {
          log.info("webhook " + event.source + "/" + event.type + ": running " + task);
          const auto id = engine::run_id::random();
          auto user_hash = webhook_user_hash(event.source, payload);
          (void)co_await launch_adhoc(std::move(task), id, std::move(payload), std::move(event), std::move(user_hash));
        });
  }

  // The hashed user id of a delivery, from where `webhook.user_id` points in
  // the source's payload (a string, or a number as its JSON text); empty
  // when nothing is configured or found there.
  std::string webhook_user_hash(const std::string& source, const boost::json::value& payload) const {
    const auto it = current.cfg.webhook_user_ids.find(source);
    if (it == current.cfg.webhook_user_ids.end()) return {};
    boost::system::error_code ec;
    const auto* found = payload.find_pointer(it->second, ec);
    if (found == nullptr || ec) return {};
    if (found->is_string()) {
      const auto& text = found->get_string();
      return text.empty() ? std::string() : adapters::events::hash_user_id(std::string_view(text.data(), text.size()));
    }
    if (found->is_number()) return adapters::events::hash_user_id(boost::json::serialize(*found));
    return {};
  }

  // The events a previous process accepted (202) and did not see through,
  // delivered again, each with its delivery id, to today's subscribers.
  void redeliver(std::vector<adapters::webhooks::journaled_event> events) {
    if (events.empty()) return;
    log.info("webhook journal: delivering " + std::to_string(events.size()) +
             " event(s) accepted before the restart and not delivered");
    for (auto& e : events) {
      adapters::webhooks::delivery_context context{[this](std::string_view m) { log.on_error(m); },
                                                   &webhook_metrics,
                                                   &http_runs,
                                                   journal.get(),
                                                   e.id,
                                                   e.delivery_id};
      (void)adapters::webhooks::deliver_event(ex, *webhooks, std::move(e.event), context);
    }
  }

  asio::awaitable<void> watch() {
    for (;;) {
      try {
        (void)co_await watcher->changed(std::chrono::milliseconds(100));
      } catch (const boost::system::system_error&) {
        co_return;  // closed by stop()
      }
      log.info("schedules or task state changed on disk: reloading them");
      reload(std::nullopt);
    }
  }

  // Applies `next` (a new configuration, with its webhook subscriptions and
  // secrets) or, without one, re-reads only the state files; anything that
  // does not load leaves everything as it was.
  bool reload(std::optional<config> next_cfg) {
    if (stopping) return false;
    try {
      loaded next{current.cfg, current.graph, {}, current.plugins, current.plugin_errors};
      std::shared_ptr<const adapters::webhooks::webhook_registry> next_webhooks;
      if (next_cfg) {
        next = load(std::move(*next_cfg), current.plugins);
        next_webhooks = make_webhooks(next.cfg);
      } else {
        next.enabled_overrides = scheduling::task_state_store(state_file(next.cfg)).load();
      }
      current = std::move(next);
      sync_plugin_watches();
      http_runs.set_limit(current.cfg.http.max_runs);
      metrics.set_http_runs_limit(http_runs.limit());
      if (next_webhooks) {
        webhooks = std::move(next_webhooks);
        const auto subscribed = std::count_if(current.cfg.tasks.begin(), current.cfg.tasks.end(),
                                              [](const auto& t) { return t.on.has_value(); });
        log.info("configuration reloaded: " + std::to_string(current.graph->size()) + " tasks, " +
                 std::to_string(subscribed) + " webhook subscription(s)");
      }
    } catch (const std::exception& e) {
      log.on_error(std::string("reload refused, keeping the previous configuration: ") + e.what());
      return false;
    }
    if (options.fire_schedules) apply_schedules();
    return true;
  }

  void apply_schedules() {
    const auto& cfg = current.cfg;
    if (cfg.backend != "cron") {
      log.info(
          cfg.backend == "temporal"
              ? std::string("backend temporal: the cluster's Temporal Schedules fire the tasks; nothing is fired here")
              : "backend " + cfg.backend + ": nothing is fired on a schedule");
      return;
    }
    std::vector<scheduling::active_schedule> active;
    try {
      const auto eff = collect_schedules(cfg, scheduling::schedule_store(cfg.storage_path).load());
      for (const auto& w : eff.warnings) log.info("warning: " + w);
      for (const auto& e : eff.entries) {
        if (cfg.find(e.task) == nullptr) continue;
        auto a = activate(cfg, e);
        if (!a) {
          log.on_error("schedule of '" + e.task + "' is not fired: " + a.error());
          continue;
        }
        active.push_back(std::move(a).value());
      }
    } catch (const std::exception& e) {
      log.on_error(std::string("cannot read schedules, keeping the previous ones: ") + e.what());
      return;
    }
    log.info(std::to_string(active.size()) + " schedule(s) active");
    scheduler.apply(std::move(active));
  }

  asio::awaitable<void> stop(std::chrono::milliseconds grace, std::string reason) {
    if (stopping) {
      (void)co_await stopped.wait();
      co_return;
    }
    stopping = true;
    if (refresher) co_await refresher->stop();
    if (watcher) watcher->close();
    if (inotify) inotify->close();
    plugin_timer.cancel();
    const auto deadline = std::chrono::steady_clock::now() + grace;
    if (http) http->stop(grace);
    co_await scheduler.drain(grace, reason);
    if (http) co_await http->wait_stopped();
    // Webhook and API runs get what is left of the grace period, then are
    // cancelled; cancelled runs end within their kill_grace.
    if (!co_await adhoc.wait_until(deadline)) {
      cancel_adhoc(reason);
      (void)co_await adhoc.wait();
    }
    if (events) {
      auto draining = events->drain(event_drain);
      co_await std::move(draining);
    }
    log.info("stopped");
    stopped.set();
  }

  void cancel_running(const std::string& reason) {
    scheduler.cancel_running(reason);
    cancel_adhoc(reason);
  }

  asio::any_io_executor ex;
  asio::thread_pool& pool;
  runtime_options options;
  serve_log log;
  // Plugins' own log lines ("plugin NAME: ..."), beside the service's.
  std::ostream& plugin_log;
  adapters::metrics::metrics metrics;
  scheduling::scheduler_observer_fan_out scheduler_observers{&log, &metrics.scheduler_observer()};
  adapters::metrics::http_metrics http_metrics{metrics};
  adapters::metrics::webhook_metrics webhook_metrics{metrics};
  // Run events (`events:`), made once from the configuration the runtime
  // started with; null when off.
  std::unique_ptr<adapters::events::emitter> events;
  std::chrono::milliseconds event_drain{0};
  // The remote plugin server, if one is configured, and its refresh loop.
  std::shared_ptr<remote_tasks> remote;
  std::optional<remote_refresher> refresher;
  loaded current;
  scheduling::cron_scheduler scheduler;
  // Runs started over HTTP: their bound, and the wait group stop() drains.
  core::concurrency_limit http_runs;
  core::wait_group adhoc;
  std::set<engine::run_canceller*> adhoc_cancellers;
  // The webhook registry in force; replaced whole by a reload.
  std::shared_ptr<const adapters::webhooks::webhook_registry> webhooks;
  std::unique_ptr<adapters::webhooks::webhook_journal> journal;
  std::shared_ptr<adapters::api::api_service> api;
  std::optional<net::http_server> http;
  std::optional<scheduling::file_watcher> watcher;
  std::optional<asio::posix::stream_descriptor> inotify;
  std::map<int, std::filesystem::path> plugin_watches;
  asio::steady_timer plugin_timer{ex};
  std::chrono::steady_clock::time_point plugin_quiet_until{};
  bool plugin_debouncing = false;
  bool stopping = false;
  core::async_event stopped{ex};
};

runtime::runtime(asio::any_io_executor ex, asio::thread_pool& pool, config cfg, runtime_options options,
                 std::ostream& log)
    : impl_(std::make_unique<impl>(std::move(ex), pool, std::move(cfg), std::move(options), log)) {}

runtime::~runtime() = default;

void runtime::start() {
  impl_->start();
}

bool runtime::reload() {
  try {
    const auto& source = impl_->current.cfg.source;
    return impl_->reload(load_config(source.empty() ? std::nullopt : std::optional<std::filesystem::path>(source)));
  } catch (const std::exception& e) {
    impl_->log.on_error(std::string("reload refused, keeping the previous configuration: ") + e.what());
    return false;
  }
}

bool runtime::reload(config next) {
  return impl_->reload(std::move(next));
}

namespace {
asio::awaitable<config> load_config_here(std::optional<std::filesystem::path> source) {
  co_return load_config(source);
}
}  // namespace

asio::awaitable<bool> runtime::reload_off_loop() {
  std::optional<std::filesystem::path> source;
  if (!impl_->current.cfg.source.empty()) source = impl_->current.cfg.source;
  try {
    // Named, not temporaries inside the co_await: GCC 12 mishandles those.
    auto parse = load_config_here(std::move(source));
    auto on_pool = asio::co_spawn(impl_->pool, std::move(parse), asio::use_awaitable);
    config next = co_await std::move(on_pool);
    co_return impl_->reload(std::move(next));
  } catch (const std::exception& e) {
    impl_->log.on_error(std::string("reload refused, keeping the previous configuration: ") + e.what());
    co_return false;
  }
}

asio::awaitable<void> runtime::stop(std::chrono::milliseconds grace, std::string reason) {
  return impl_->stop(grace, std::move(reason));
}

void runtime::cancel_running(const std::string& reason) {
  impl_->cancel_running(reason);
}

plugin_reload runtime::reload_plugins() {
  return impl_->reload_plugins();
}

std::shared_ptr<const plugins::registry> runtime::plugins() const noexcept {
  return impl_->current.plugins;
}

const std::vector<std::string>& runtime::plugin_errors() const noexcept {
  return impl_->current.plugin_errors;
}

void runtime::add_routes(net::router& routes) {
  impl_->add_routes(routes);
}

std::uint16_t runtime::port() const noexcept {
  return impl_->http ? impl_->http->port() : 0;
}

std::size_t runtime::running() const noexcept {
  return impl_->scheduler.running() + impl_->adhoc.count();
}

const config& runtime::current() const noexcept {
  return impl_->current.cfg;
}

adapters::metrics::metrics& runtime::metrics() noexcept {
  return impl_->metrics;
}

}  // namespace cascadence::service

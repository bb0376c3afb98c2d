#pragma once

// The composition root as a library: one configuration turned into a running
// service — the cron scheduler, the HTTP routes (webhooks, REST API,
// /healthz, /metrics) and the metrics registry — on an executor and a thread
// pool that belong to the host. `task serve`, `task webhook` and an
// application embedding Cascadence all drive this same object.

#include "plugins/registry.hpp"
#include "service/config.hpp"
#include "service/http_front.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <iosfwd>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace boost::asio {
class thread_pool;
}
namespace cascadence::adapters::metrics {
class metrics;
}
namespace cascadence::net {
class router;
}

namespace cascadence::service {

/// The service could not start (its address cannot be bound): one line.
class start_error final : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// What a runtime does besides running tasks.
struct runtime_options final {
  /// Where HTTP is served (`--host`, `--port`; port 0 picks a free one).
  listen_address listen;
  /// Serve the HTTP routes; a host that mounts them on a server of its own
  /// (add_routes()) turns this off.
  bool serve_http = true;
  /// Fire the schedules (`task serve`); `task webhook` does not.
  bool fire_schedules = true;
};

/// What a plugin reload did.
struct plugin_reload final {
  std::vector<plugins::plugin_change> changes;
  /// One line per plugin that did not load, and why a reload was refused.
  std::vector<std::string> errors;
  /// False when the new plugins were refused (the graph could not be built with them): the old ones stay.
  bool applied = true;
};

/// A configured Cascadence service on a host's executor. Lifecycle:
/// construct, start(), any number of reload(), then co_await stop(grace)
/// (SIGINT/SIGTERM in `task serve` and a host's own shutdown take this one
/// path), and destroy only once stop() has returned. Every member is called
/// on the executor's thread; blocking processors run on the pool.
class runtime final {
 public:
  /// `pool` and `log` must outlive the runtime. Throws config_error when the
  /// configuration cannot be served (no API token off loopback) and when its
  /// graph is invalid.
  runtime(boost::asio::any_io_executor ex, boost::asio::thread_pool& pool, config cfg, runtime_options options,
          std::ostream& log);
  ~runtime();
  runtime(const runtime&) = delete;
  runtime& operator=(const runtime&) = delete;

  /// Binds the HTTP server (throws start_error), installs the schedules and
  /// watches their files; logs `listening on http://HOST:PORT`.
  void start();

  /// Re-reads the configuration from its file (SIGHUP), with the webhook
  /// subscriptions, the schedules and the task state. A configuration that
  /// does not load is logged and changes nothing; returns false then.
  bool reload();
  /// The same with a configuration the host loaded itself.
  bool reload(config next);
  /// reload() with the file read and parsed on the pool (SIGHUP in `task
  /// serve`): a big or hostile file never holds up the loop, which keeps
  /// firing and answering meanwhile. Swaps on the executor's thread.
  [[nodiscard]] boost::asio::awaitable<bool> reload_off_loop();

  /// Stages and loads the plugins again (what a change in a watched plugin directory does after 200 ms of
  /// quiet, and `POST /api/v1/plugins/reload`), and swaps them and the graph built with them in whole: runs in
  /// flight finish on the old code. Errors are logged and returned; unchanged plugins are kept as they are.
  plugin_reload reload_plugins();
  /// The plugins in force, and the lines of those that did not load.
  [[nodiscard]] std::shared_ptr<const plugins::registry> plugins() const noexcept;
  [[nodiscard]] const std::vector<std::string>& plugin_errors() const noexcept;

  /// Stops firing and accepting, waits up to `grace` for running fires,
  /// HTTP requests and the runs they started, then cancels what is left with
  /// `reason` and waits for it to settle (child processes get SIGTERM, then
  /// SIGKILL after `kill_grace`). Idempotent.
  [[nodiscard]] boost::asio::awaitable<void> stop(std::chrono::milliseconds grace, std::string reason);

  /// Cancels every running fire and HTTP-started run now (a second signal
  /// during stop()).
  void cancel_running(const std::string& reason);

  /// Adds the service's routes to `routes` (done already for its own
  /// server): `/healthz`, `/api/v1/...`, `/metrics`, `/webhook/...`. The
  /// runtime must outlive the router.
  void add_routes(net::router& routes);

  /// The bound HTTP port once start() served, else 0.
  [[nodiscard]] std::uint16_t port() const noexcept;
  /// Fires and HTTP-started runs in flight.
  [[nodiscard]] std::size_t running() const noexcept;
  /// The configuration in force.
  [[nodiscard]] const config& current() const noexcept;
  /// Every series of this service (also served on /metrics).
  [[nodiscard]] adapters::metrics::metrics& metrics() noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace cascadence::service

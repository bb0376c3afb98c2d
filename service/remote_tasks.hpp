#pragma once

// The remote plugin server (Cronyx-style, docs/plugins.md) as configuration:
// its settings (CRONYX_* over the file's `cronyx:` block), the tasks its
// last successful discovery advertised, and how those become Cascadence
// tasks (kind remote) beside the file's own. `task run` and `task list`
// discover once (discover_remote_tasks()); `task serve` refreshes on the
// loop (remote_refresher) and reloads its graph when the list changes.

#include "adapters/cronyx/cronyx_client.hpp"
#include "service/config.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace cascadence::adapters::cronyx {
class server;
}

namespace cascadence::service {

/// The server settings in force: CRONYX_BASE_URL, CRONYX_TIMEOUT (seconds),
/// CRONYX_TOKEN and CASCADENCE_CRONYX_REFRESH (seconds or a duration) over
/// `cronyx.base_url`, `cronyx.timeout`, `cronyx.token` and `cronyx_refresh`
/// / `cronyx.refresh`. Nullopt when no base URL is set. Throws config_error
/// naming the variable or the key for a value that does not parse.
[[nodiscard]] std::optional<adapters::cronyx::settings> remote_settings(const config& cfg);

/// What one discovery did.
struct refresh_result final {
  bool ok = false;
  /// The advertised tasks differ from the ones known before.
  bool changed = false;
  /// One line for the log: what was found, or why the server is unavailable.
  std::string message;
};

/// One server and what is known of its tasks. Used on one executor.
class remote_tasks final {
 public:
  explicit remote_tasks(adapters::cronyx::settings s);

  [[nodiscard]] const adapters::cronyx::settings& settings() const noexcept;

  /// Discovers the server's tasks on the awaiting coroutine's executor. On
  /// success they replace the known ones and runs go to the server; on
  /// failure the known tasks stay and their runs fail at once with the
  /// reason, until a discovery succeeds.
  [[nodiscard]] boost::asio::awaitable<refresh_result> refresh();

  /// Adds the known tasks to `cfg` (a task of the file with the same name
  /// wins), binds every remote task of `cfg` to the server and, while the
  /// server is unavailable, makes a name that `after:` refers to and nothing
  /// defines a remote task of it (so a graph naming a remote task still
  /// loads). Tasks added by an earlier apply() are replaced. Returns lines
  /// for the log (tasks hidden by local ones).
  std::vector<std::string> apply(config& cfg) const;

 private:
  std::shared_ptr<adapters::cronyx::server> server_;
  std::vector<adapters::cronyx::task_info> known_;
  bool reached_ = false;
};

/// For one-shot commands: when a server is configured, discovers its tasks
/// once (bounded by CRONYX_TIMEOUT in all) on a loop of its own and applies
/// them to `cfg`; a server that cannot be reached is reported to `warn` and
/// its tasks fail fast. Returns the server's tasks, null when none is
/// configured.
std::shared_ptr<remote_tasks> discover_remote_tasks(config& cfg, const std::function<void(const std::string&)>& warn);

/// `task serve`'s refresh: discovers at once, then every `refresh`, and
/// calls `changed` after a discovery that changed the task list (the
/// runtime then reloads its graph). Lines go to `info` / `error`.
class remote_refresher final {
 public:
  remote_refresher(boost::asio::any_io_executor ex, std::shared_ptr<remote_tasks> tasks, std::function<void()> changed,
                   std::function<void(const std::string&)> info, std::function<void(const std::string&)> error);
  ~remote_refresher();
  remote_refresher(const remote_refresher&) = delete;
  remote_refresher& operator=(const remote_refresher&) = delete;

  /// Starts the loop; call once.
  void start();
  /// Cancels the loop (a discovery in flight included) and waits for it.
  [[nodiscard]] boost::asio::awaitable<void> stop();

 private:
  struct state;
  static boost::asio::awaitable<void> loop(std::shared_ptr<state> st);
  std::shared_ptr<state> state_;
};

}  // namespace cascadence::service

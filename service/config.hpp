#pragma once

#include "adapters/events/settings.hpp"
#include "adapters/temporal/settings.hpp"
#include "engine/command_processor.hpp"
#include "engine/task.hpp"
#include "scheduling/schedule.hpp"

#include <boost/json/value.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace cascadence::engine {
class graph;
class processor;
}  // namespace cascadence::engine

namespace cascadence::plugins {
class registry;
}

namespace cascadence::service {

/// Bad configuration: one line saying file:line:column and why.
class config_error final : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// The processors a YAML task can name; each maps to one engine processor.
struct echo_spec final {
  boost::json::value message;
};
struct sleep_spec final {
  std::chrono::milliseconds duration{0};
};
/// `remote: ID` (with `params:`), or a task a remote server advertised.
struct remote_spec final {
  std::string id;
  boost::json::value params;
  /// Added by discovery rather than written in the file.
  bool discovered = false;
  /// The processor running it on the server, bound by service::remote_tasks;
  /// build_graph() refuses a remote task without one.
  std::shared_ptr<engine::processor> bound;
};
/// `plugin: NAME` with `params:`: a processor of a loaded native plugin, resolved against the plugin registry
/// when the graph is built.
struct plugin_spec final {
  std::string name;
  /// `params:` as JSON (null when absent), handed to the plugin's create().
  boost::json::value params;
  /// Where the `plugin:` key's value is ("file:line:column"), for errors found when the graph is built.
  std::string location;
};
/// A task with `workflow:` and no local processor: it runs on Temporal only.
struct workflow_only_spec final {};
using processor_spec =
    std::variant<engine::command_spec, echo_spec, sleep_spec, remote_spec, plugin_spec, workflow_only_spec>;

/// One entry of the top-level `plugins:` list: a plugin file or a directory of them.
struct plugin_entry final {
  /// Absolute (a relative path is taken from the configuration file's directory).
  std::filesystem::path path;
  /// "in_process" or "process"; empty: the default (process for Go plugins, else in_process).
  std::string isolation;
  /// "file:line:column" of the entry.
  std::string location;
};

/// `cronyx: {base_url, timeout, token, refresh}` and `cronyx_refresh`: the
/// remote plugin server. CRONYX_BASE_URL, CRONYX_TIMEOUT, CRONYX_TOKEN and
/// CASCADENCE_CRONYX_REFRESH win (see service/remote_tasks.hpp).
struct cronyx_config final {
  std::string base_url;
  std::optional<std::chrono::milliseconds> timeout;
  std::string token;
  std::optional<std::chrono::milliseconds> refresh;
  /// Where the block is, for errors about it ("file:line:column").
  std::string location;
};

/// `temporal:`: the Temporal cluster of `backend: temporal` and `task run
/// --temporal` (docs/temporal.md). TEMPORAL_HTTP_ADDRESS, TEMPORAL_ADDRESS,
/// TEMPORAL_NAMESPACE and TEMPORAL_API_KEY win (see temporal_settings()).
struct temporal_config final {
  /// http_address, address, namespace, task_queue, api_key, `tls:
  /// {ca_file, verify}` and timeout, as the file gives them.
  adapters::temporal::settings cluster;
  /// Where the block is, for errors about it ("file:line:column").
  std::string location;
};

/// A task's `on: {webhook: SOURCE, events: [TYPE, ...]}`: the webhook
/// deliveries that start it.
struct webhook_subscription final {
  std::string source;
  /// Event types that start the task; empty = every event of the source.
  std::vector<std::string> events;

  /// True when a delivery of `type` from this source starts the task.
  [[nodiscard]] bool matches(std::string_view type) const noexcept;
};

/// `http:`: limits of the HTTP server of `task serve` and `task webhook`.
struct http_config final {
  std::uint64_t body_limit = 1024 * 1024;
  std::size_t header_limit = 8 * 1024;
  std::chrono::milliseconds read_timeout{std::chrono::seconds(10)};
  std::size_t max_connections = 1024;
  /// Connections from one client address (an IPv6 client's /64); 0 = no
  /// limit. Behind a reverse proxy, raise it to max_connections.
  std::size_t max_connections_per_client = 64;
  /// Runs started over HTTP (webhook deliveries, REST API) going at once;
  /// past it requests are refused with 503 and Retry-After. 0 = no limit.
  std::size_t max_runs = 256;
};

/// `webhook: {journal, journal_limit, dedupe_window}`: the journal that
/// keeps accepted deliveries until their runs settled.
struct webhook_journal_config final {
  bool enabled = true;
  std::uint64_t max_bytes = 64U << 20U;
  std::chrono::seconds dedupe_window{std::chrono::hours(24)};
};

/// One entry of `tasks:`.
struct task_config final {
  std::string name;
  processor_spec processor;
  engine::task_settings settings;
  /// Whether `kind:` was written for the task (settings.kind is `manual` by
  /// default): only a task declared `kind: manual` may be triggered.
  bool kind_given = false;
  std::vector<std::string> after;
  /// A schedule declared beside the task (`schedule:` and its policy keys);
  /// one persisted with `task schedule` wins over it.
  std::optional<scheduling::schedule_entry> schedule;
  /// The webhook deliveries that start the task (`on:`), if any.
  std::optional<webhook_subscription> on;
  /// `workflow:`: the Temporal workflow type that runs it on Temporal
  /// (empty: the task's name; see workflow_type()).
  std::string workflow;
  /// Where the task is defined ("file:line"), for error messages.
  std::string location;

  /// The workflow type of the task on Temporal.
  [[nodiscard]] const std::string& workflow_type() const noexcept { return workflow.empty() ? name : workflow; }
};

/// The whole configuration, defaults filled in.
struct config final {
  /// The file it came from; empty for the built-in default.
  std::filesystem::path source;
  std::string backend = "cron";
  std::filesystem::path storage_path = "schedules.yml";
  std::string timezone = "UTC";
  std::size_t max_concurrency = 0;
  std::chrono::milliseconds kill_grace{std::chrono::seconds(5)};
  /// Threads for blocking processors; 0 = one per core.
  std::size_t threads = 0;
  /// How long `task serve` waits for running tasks on SIGINT/SIGTERM
  /// before cancelling them.
  std::chrono::milliseconds shutdown_grace{std::chrono::seconds(30)};
  http_config http;
  /// `output: {line_limit, stream_limit, keep_limit}` (bytes): what command
  /// tasks' output may cost.
  engine::output_limits output;
  /// `webhook: {secrets: {SOURCE: SECRET}}`; the environment variable
  /// CASCADENCE_WEBHOOK_SECRET_<SOURCE> wins (see webhook_secret()).
  std::map<std::string, std::string, std::less<>> webhook_secrets;
  webhook_journal_config webhook_journal;
  /// `webhook: {user_id: {SOURCE: POINTER}}`: where in a source's payload
  /// the user id is (a JSON pointer); its hash goes with the run.
  std::map<std::string, std::string, std::less<>> webhook_user_ids;
  /// `events:`: run events (docs/events.md); the global options
  /// --transport, --nats-conn, ... win (see cli).
  adapters::events::settings events;
  /// `api: {token: ...}`; CASCADENCE_API_TOKEN wins (see api_token()).
  std::string api_token;
  cronyx_config cronyx;
  temporal_config temporal;
  std::vector<task_config> tasks;
  /// `plugins:`, in order; $CASCADENCE_PLUGIN_PATH adds its directories before them.
  std::vector<plugin_entry> plugins;
  /// Task name -> index in `tasks`.
  std::map<std::string, std::size_t, std::less<>> index;

  [[nodiscard]] const task_config* find(std::string_view name) const noexcept;
};

/// Finds and loads the configuration: `explicit_path` (from --config), else
/// $CASCADENCE_CONFIG, else ./cascadence.yml if present, else the built-in
/// default with the `example` task. $CASCADENCE_SCHEDULER overrides
/// `backend`. Throws config_error; nothing is half-applied.
[[nodiscard]] config load_config(const std::optional<std::filesystem::path>& explicit_path);

/// Parses YAML text; `source` names it in errors.
[[nodiscard]] config parse_config(const std::string& text, const std::filesystem::path& source);

/// The built-in default configuration.
[[nodiscard]] config default_config();

/// The engine graph of a configuration. Throws config_error naming the task
/// and its location (unknown dependency, cycle with its path).
[[nodiscard]] engine::graph build_graph(const config& cfg);
/// The same, with `plugin:` tasks resolved in `plugins` (an unknown processor name and params the plugin's
/// create() refuses are config_errors at the task's `plugin:` key).
[[nodiscard]] engine::graph build_graph(const config& cfg, const plugins::registry& plugins);

/// The secret of a webhook source: $CASCADENCE_WEBHOOK_SECRET_<SOURCE
/// upper-cased, '-' as '_'>, else `webhook.secrets.SOURCE`; empty when none.
[[nodiscard]] std::string webhook_secret(const config& cfg, std::string_view source);

/// The REST API bearer token: $CASCADENCE_API_TOKEN, else `api.token`.
[[nodiscard]] std::string api_token(const config& cfg);

/// `temporal:` with the TEMPORAL_* variables applied (TEMPORAL_HTTP_ADDRESS,
/// TEMPORAL_ADDRESS, TEMPORAL_NAMESPACE, TEMPORAL_API_KEY win over the file).
/// Throws config_error for an http_address that is not an http(s) URL.
[[nodiscard]] adapters::temporal::settings temporal_settings(const config& cfg);

/// Where enabled/disabled state lives: $CASCADENCE_HOME/task-state.yml, else
/// beside the schedules file.
[[nodiscard]] std::filesystem::path state_file(const config& cfg);

/// Threads of the pool for blocking processors: `threads`, else one per core.
[[nodiscard]] std::size_t pool_threads(const config& cfg);

/// Where the last fire time of each schedule lives, beside state_file().
[[nodiscard]] std::filesystem::path fire_state_file(const config& cfg);

}  // namespace cascadence::service

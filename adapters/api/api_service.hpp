#pragma once

#include "core/concurrency_limit.hpp"
#include "core/spawn.hpp"
#include "engine/run_id.hpp"
#include "net/http_message.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/json/array.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstddef>
#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cascadence::net {
class router;
}
namespace cascadence::core {
class async_event;
}

namespace cascadence::adapters::api {

/// One row of `GET /api/v1/tasks`.
struct task_summary final {
  std::string name;
  std::string kind;
  bool enabled = true;
  /// The cron expression in force; empty when the task has none.
  std::string schedule;
};

/// A finished run as the API reports it.
struct finished_run final {
  /// `success`, `failed` or `cancelled`.
  std::string status;
  /// One object per task: `{"task", "status", "attempts", "started",
  /// "finished", "output", "error"}`.
  boost::json::array tasks;
  /// Why the run was cancelled, when it was.
  std::string cancel_reason;
};

/// What the API needs from its host (the CLI's serve loop).
class api_backend {
 public:
  virtual ~api_backend() = default;
  [[nodiscard]] virtual std::vector<task_summary> tasks() const = 0;
  [[nodiscard]] virtual bool has_task(std::string_view name) const = 0;
  /// Runs `task` under the id `id`, with `input` as the run input, on the
  /// awaiting coroutine's executor: with its dependencies, or alone when
  /// `with_dependencies` is false (an outside orchestrator ran them).
  /// `user_hash`: the hashed id of the user the request named
  /// (X-Cascadence-User-Id), or empty.
  [[nodiscard]] virtual boost::asio::awaitable<finished_run> run(std::string task, boost::json::value input,
                                                                 engine::run_id id, bool with_dependencies,
                                                                 std::string user_hash) = 0;
};

/// The most recent runs started through the API, oldest dropped first.
class run_table final {
 public:
  explicit run_table(std::size_t capacity) : capacity_(capacity == 0 ? 1 : capacity) {}
  void started(const engine::run_id& id, std::string task, std::chrono::system_clock::time_point at);
  void finished(const engine::run_id& id, finished_run result, std::chrono::system_clock::time_point at);
  /// `{"run_id", "task", "status", "started", "finished", "tasks"}`, or
  /// nothing when the run is unknown or was dropped.
  [[nodiscard]] std::optional<boost::json::value> find(std::string_view id) const;
  [[nodiscard]] std::size_t size() const noexcept { return rows_.size(); }

 private:
  struct row final {
    std::string task;
    std::string status = "running";
    std::chrono::system_clock::time_point started{};
    std::optional<std::chrono::system_clock::time_point> finished;
    boost::json::array tasks;
    std::string cancel_reason;
  };
  std::size_t capacity_;
  std::deque<std::string> order_;
  std::map<std::string, row, std::less<>> rows_;
};

/// Who may use `/api/v1`.
struct api_options final {
  /// When true, every `/api/v1` request needs `Authorization: Bearer TOKEN`.
  bool require_token = false;
  std::string token;
  /// How many recent runs `GET /api/v1/runs/{id}` remembers.
  std::size_t max_runs = 1000;
  /// Runs going at once, shared with webhook deliveries (`http.max_runs`):
  /// a start past it is refused with 503 and `Retry-After`. Not owned; null
  /// means no limit.
  core::concurrency_limit* run_limit = nullptr;
  /// Hears of an exception escaping a run's coroutine (a bug: the backend's
  /// failures are caught and recorded as the run's).
  core::escape_handler on_escape;
};

/// The REST API. Handlers are plain member functions from request to
/// response, so tests drive them through a router without sockets.
class api_service final : public std::enable_shared_from_this<api_service> {
 public:
  api_service(boost::asio::any_io_executor ex, std::shared_ptr<api_backend> backend, api_options options);

  /// A 401 when the request lacks the required bearer token (compared in
  /// constant time), else nothing.
  [[nodiscard]] std::optional<net::response> check_auth(const net::request& req) const;

  /// `GET /api/v1/tasks`.
  [[nodiscard]] net::response list_tasks(const net::request& req) const;
  /// `POST /api/v1/tasks/{name}/runs`: 202 `{"run_id"}` at once, or with
  /// `?wait=true` 200 and the run once finished; `?dependencies=false` runs
  /// the task alone (its dependencies are the caller's: an n8n workflow's). Unknown task 404, body not
  /// JSON 400, no room under the run limit 503. The run is detached from the request: a waiting request
  /// cancelled by the server (handler timeout, shutdown) stops waiting, and
  /// the run goes on, readable by id.
  [[nodiscard]] boost::asio::awaitable<net::response> start_run(net::request& req);
  /// `GET /api/v1/runs/{id}`: the run, or 404.
  [[nodiscard]] net::response get_run(const net::request& req) const;

  [[nodiscard]] const run_table& runs() const noexcept { return runs_; }

 private:
  [[nodiscard]] boost::asio::awaitable<void> execute(std::string task, boost::json::value input, engine::run_id id,
                                                     bool with_dependencies, std::string user_hash);
  [[nodiscard]] static boost::asio::awaitable<void> run_detached(std::shared_ptr<api_service> self, std::string task,
                                                                 boost::json::value input, engine::run_id id,
                                                                 bool with_dependencies, std::string user_hash,
                                                                 std::shared_ptr<core::async_event> done,
                                                                 std::optional<core::concurrency_limit::permit> permit);

  boost::asio::any_io_executor ex_;
  std::shared_ptr<api_backend> backend_;
  api_options options_;
  run_table runs_;
};

/// Registers the `/api/v1` routes of `service` on `routes`.
void add_api_routes(net::router& routes, const std::shared_ptr<api_service>& service);

/// `GET /healthz` → 200 `{"status":"ok"}`.
void add_health_route(net::router& routes);

}  // namespace cascadence::adapters::api

#pragma once

// A client of a Temporal frontend's HTTP API (grpc-gateway JSON over
// HTTP/1.1; docs/temporal.md): workflows (start, describe, wait for the
// close event, signal, cancel, terminate, list, history) and Temporal
// Schedules, on the caller's executor with the project's HTTP client.

#include "adapters/temporal/settings.hpp"
#include "core/result.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace cascadence::adapters::temporal {

/// The largest request body the frontend accepts (MaxHTTPAPIRequestBytes).
inline constexpr std::size_t max_request_bytes = 4 * 1024 * 1024;

/// Why a call produced no answer we can use.
enum class errc : std::uint8_t {
  unavailable,      ///< the server could not be reached, or answered 5xx
  not_found,        ///< no such workflow, run, schedule or namespace
  already_started,  ///< a workflow with this id is running (run_id says which)
  invalid,          ///< the server refused the request as malformed
  denied,           ///< 401/403: the API key was refused
  bad_answer,       ///< the answer was not the JSON we expected
  too_large,        ///< the request would exceed max_request_bytes
  cancelled,        ///< the awaiting coroutine was cancelled
  timed_out,        ///< the server stayed unreachable longer than settings::timeout
};

struct error final {
  errc code = errc::unavailable;
  /// One line, starting `temporal <http_address>: `.
  std::string message;
  /// For already_started: the run that is running.
  std::string run_id;
};

template <typename T>
using result = core::result<T, error>;

/// One run of a workflow.
struct execution final {
  std::string workflow_id;
  std::string run_id;
};

/// What StartWorkflowExecution needs.
struct start_request final {
  std::string workflow_id;
  std::string workflow_type;
  /// Empty: settings::task_queue.
  std::string task_queue;
  /// The arguments, each one json/plain payload.
  std::vector<boost::json::value> args;
  /// Same request id, same start: a retried start cannot start twice.
  std::string request_id;
  /// Zero: none.
  std::chrono::milliseconds execution_timeout{0};
  /// `memo` fields, as JSON values.
  boost::json::object memo;
};

/// How a workflow run closed.
enum class close_status : std::uint8_t { completed, failed, canceled, terminated, timed_out, continued_as_new };

[[nodiscard]] std::string_view to_string(close_status s) noexcept;

/// The close event of a run.
struct closed final {
  close_status status = close_status::completed;
  /// The result (completed: the first payload's value, null when none).
  boost::json::value result;
  /// Failed, timed out, terminated or canceled: why, in one line.
  std::string failure;
  /// Continued as new: the next run.
  std::string new_run_id;
  /// The run the event belongs to (the last one, after following).
  std::string run_id;
};

/// A listed workflow run (ListWorkflowExecutions).
struct workflow_summary final {
  execution exec;
  std::string type;
  /// RUNNING, COMPLETED, ... (WORKFLOW_EXECUTION_STATUS_ stripped).
  std::string status;
  std::string start_time;
  std::string close_time;
};

/// A schedule as stored in the cluster (the parts we set and read back).
struct schedule_info final {
  std::string id;
  /// The schedule's `spec` (structuredCalendar, timezoneName, jitter).
  boost::json::object spec;
  std::string workflow_type;
  bool paused = false;
  std::string note;
  /// SKIP, BUFFER_ONE, ... (SCHEDULE_OVERLAP_POLICY_ stripped).
  std::string overlap;
  std::string catchup_window;
  /// RFC 3339 times of the next actions, as the server computed them.
  std::vector<std::string> next_times;
  /// RFC 3339 times of the recent actions.
  std::vector<std::string> recent_times;
};

/// What CreateSchedule / UpdateSchedule send.
struct schedule_request final {
  std::string id;
  /// `spec`: built by the caller (see temporal_schedules.hpp).
  boost::json::object spec;
  start_request action;
  /// SKIP, BUFFER_ONE, BUFFER_ALL, CANCEL_OTHER, ALLOW_ALL, TERMINATE_OTHER.
  std::string overlap = "SKIP";
  /// Zero: the server's default.
  std::chrono::milliseconds catchup_window{0};
  bool paused = false;
  std::string note;
};

/// A client of one namespace of one cluster. Use it from its executor's
/// thread; calls may run concurrently.
class client final {
 public:
  /// Throws std::runtime_error when `s.ca_file` cannot be loaded.
  client(boost::asio::any_io_executor ex, settings s);
  ~client();
  client(const client&) = delete;
  client& operator=(const client&) = delete;

  [[nodiscard]] const settings& options() const noexcept;

  /// GET /api/v1/system-info: the server's version.
  [[nodiscard]] boost::asio::awaitable<result<std::string>> server_version();
  /// GET /api/v1/namespaces/{ns}: not_found for an unknown namespace.
  [[nodiscard]] boost::asio::awaitable<result<boost::json::object>> describe_namespace();

  [[nodiscard]] boost::asio::awaitable<result<execution>> start(const start_request& req);
  /// DescribeWorkflowExecution; empty run id: the latest run.
  [[nodiscard]] boost::asio::awaitable<result<boost::json::object>> describe(const execution& e);
  /// Waits for the close event of `e` by long-polling its history (the
  /// server holds each poll about 20 s). While the server is unreachable it
  /// reconnects with back-off for up to settings::timeout (timed_out after).
  /// Continue-as-new is followed to the new run when `follow` is set.
  [[nodiscard]] boost::asio::awaitable<result<closed>> await_close(execution e, bool follow = true);
  [[nodiscard]] boost::asio::awaitable<result<std::monostate>> signal(const execution& e, std::string_view name,
                                                                      std::vector<boost::json::value> args);
  /// RequestCancelWorkflowExecution: the workflow decides how to end.
  [[nodiscard]] boost::asio::awaitable<result<std::monostate>> cancel(const execution& e, std::string_view reason);
  [[nodiscard]] boost::asio::awaitable<result<std::monostate>> terminate(const execution& e, std::string_view reason);
  /// ListWorkflowExecutions with a visibility `query` (empty: all), every
  /// page up to `limit` runs.
  [[nodiscard]] boost::asio::awaitable<result<std::vector<workflow_summary>>> list(std::string_view query,
                                                                                   std::size_t limit = 1000);
  /// The whole history of `e`, page by page, standard payloads.
  [[nodiscard]] boost::asio::awaitable<result<boost::json::array>> history(const execution& e);

  /// CreateSchedule, or UpdateSchedule when it exists.
  [[nodiscard]] boost::asio::awaitable<result<std::monostate>> upsert_schedule(const schedule_request& req);
  [[nodiscard]] boost::asio::awaitable<result<schedule_info>> describe_schedule(std::string_view id);
  [[nodiscard]] boost::asio::awaitable<result<std::vector<schedule_info>>> list_schedules();
  [[nodiscard]] boost::asio::awaitable<result<std::monostate>> delete_schedule(std::string_view id);
  /// PatchSchedule pause or unpause, with `note`.
  [[nodiscard]] boost::asio::awaitable<result<std::monostate>> pause_schedule(std::string_view id, bool pause,
                                                                              std::string_view note);

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// Why a workflow id cannot be used over the HTTP API, or nothing.
[[nodiscard]] std::optional<std::string> refuse_workflow_id(std::string_view id);

/// The failure of a close event or a history event in one line (message,
/// type, retry state, causes); see payloads.hpp describe_failure.
[[nodiscard]] closed decode_close_event(const boost::json::object& event);

}  // namespace cascadence::adapters::temporal

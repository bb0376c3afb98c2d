#pragma once

#include "engine/graph.hpp"
#include "engine/run_event.hpp"
#include "engine/run_id.hpp"
#include "engine/run_status.hpp"

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace boost::asio {
class thread_pool;
}

namespace cascadence::engine {

class observer;
class run_state;

/// The record of one task in one graph run.
struct task_record final {
  task_id task = 0;
  /// This task's own id in the run.
  run_id id;
  /// The id of the graph run it belongs to (run_report::id).
  run_id run;
  run_status status = run_status::skipped;
  unsigned attempts = 0;
  /// When the engine started the task. A worker that goes straight from
  /// one task to the next stamps both with one clock reading, so a start
  /// may precede the real one by the engine's bookkeeping in between.
  std::chrono::system_clock::time_point started{};
  std::chrono::system_clock::time_point finished{};
  boost::json::value output;
  std::string error;
  /// The run's hashed user id (run_options::user_hash), empty when none.
  std::string user_hash{};
};

/// How to run a graph.
struct run_options final {
  /// At most this many tasks run at once; 0 = no limit.
  std::size_t max_concurrency = 0;
  /// Where blocking processors run; null refuses blocking processors.
  boost::asio::thread_pool* pool = nullptr;
  /// Notified of every event of the run, in order.
  std::vector<observer*> observers;
  /// The run's input, given to every task as `input`.
  boost::json::value input;
  /// Tasks that time out or are cancelled get this long after SIGTERM
  /// before SIGKILL (processors that own child processes read it).
  std::chrono::milliseconds kill_grace{std::chrono::seconds(2)};
  /// The id of the graph run; random when not set.
  std::optional<run_id> id;
  /// The event that started the run, if one did; `input` is then its payload.
  std::optional<run_event> event;
  /// Who asked for the run, as a hash (never the clear user id: see
  /// adapters/events/user_hash.hpp); copied into every record. Empty: nobody named.
  std::string user_hash{};
  /// False: run the targets alone, for an outside orchestrator that ran
  /// their dependencies itself (an n8n workflow). Dependencies that are not
  /// targets are taken as done and give no outputs.
  bool dependencies = true;
};

/// What a graph run produced: one record per task it had to settle, in the
/// order the tasks started (tasks that never started: in the order settled).
struct run_report final {
  run_id id;
  std::vector<task_record> records;
  /// Why the run was cancelled, if it was.
  std::string cancel_reason;

  /// True when every record is a success.
  [[nodiscard]] bool succeeded() const noexcept;
  /// The record of a task, or null when the run did not involve it.
  [[nodiscard]] const task_record* find(task_id task) const noexcept;
};

/// A way to cancel a run from outside the coroutine that awaits it (a signal
/// handler, a scheduler policy). Cancellation is cooperative and has a reason.
class run_canceller final {
 public:
  /// Asks the run to stop: running tasks are cancelled, pending ones skipped.
  void cancel(std::string reason);
  [[nodiscard]] bool requested() const noexcept { return requested_; }
  [[nodiscard]] const std::string& reason() const noexcept { return reason_; }

 private:
  friend class run_state;
  run_state* state_ = nullptr;
  bool requested_ = false;
  std::string reason_;
};

/// Runs `targets` and their transitive dependencies, each once, dependencies
/// first, on the awaiting coroutine's executor (use a strand if that
/// executor is multi-threaded). Ready tasks start in the order they became
/// ready (roots in graph order). A failed task marks its dependents skipped;
/// independent branches finish. Terminal cancellation of the awaiting
/// coroutine, or `canceller`, cancels the run; the awaitable still completes
/// with a full report once every task has settled.
[[nodiscard]] boost::asio::awaitable<run_report> run_graph(const graph& g, std::span<const task_id> targets,
                                                           run_options options, run_canceller* canceller = nullptr);

namespace detail {
void start_run(const graph& g, std::span<const task_id> targets, run_options options, run_canceller* canceller,
               boost::asio::any_io_executor ex, boost::asio::any_completion_handler<void(run_report)> handler);
}  // namespace detail

/// run_graph() as an Asio asynchronous operation on `ex`, for callers that
/// are not coroutines or that start many runs (a scheduler firing thousands
/// at once): it costs no coroutine frame of its own. Completes with the
/// report, never inline. `g` and, until the initiation has run, `targets`
/// must outlive the operation. Terminal cancellation through the
/// completion handler's cancellation slot, or `canceller`, cancels the run.
template <boost::asio::completion_token_for<void(run_report)> Token>
auto async_run_graph(boost::asio::any_io_executor ex, const graph& g, std::span<const task_id> targets,
                     run_options options, run_canceller* canceller, Token&& token) {
  return boost::asio::async_initiate<Token, void(run_report)>(
      [](auto handler, boost::asio::any_io_executor ex, const graph* g, std::span<const task_id> targets,
         run_options options, run_canceller* canceller) {
        detail::start_run(*g, targets, std::move(options), canceller, std::move(ex), std::move(handler));
      },
      token, std::move(ex), &g, targets, std::move(options), canceller);
}

}  // namespace cascadence::engine

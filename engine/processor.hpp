#pragma once

#include "engine/outcome.hpp"
#include "engine/run_event.hpp"
#include "engine/run_id.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/json/fwd.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

namespace boost::asio {
class thread_pool;
}

namespace cascadence::engine {

class graph;
class run_state;

/// Which stream a line of task output came from.
enum class output_stream : std::uint8_t { out, err };

namespace detail {
struct pool_snapshot;
}

/// Everything a processor may know about the attempt it is running. It lives
/// for the whole attempt; processors must not keep it beyond.
///
/// Threads. An async or immediate processor calls input() and emit_output()
/// on the engine's executor (the loop), where the run's state lives. A
/// blocking processor may call every member from any thread (the pool thread
/// running run_blocking(), or one of its own) until run_blocking() returns:
/// input() then reads what the engine took on the loop before the hand-off
/// (the dependencies' outputs, which no longer change), and emit_output()
/// posts the line to the loop. Every other member reads what is fixed for
/// the whole attempt and may be called from any thread during it.
class task_context final {
 public:
  task_context(run_state& state, std::uint32_t node, run_id id, unsigned attempt,
               const std::atomic<bool>& stop) noexcept
      : state_(&state), node_(node), id_(id), attempt_(attempt), stop_(&stop) {}

  /// Any thread.
  [[nodiscard]] std::string_view task_name() const noexcept;
  /// Any thread.
  [[nodiscard]] const run_id& id() const noexcept { return id_; }
  /// 1 for the first attempt, 2 for the first retry, ... Any thread.
  [[nodiscard]] unsigned attempt() const noexcept { return attempt_; }

  /// The task's input: `{"task": NAME, "input": RUN_INPUT, "dependencies":
  /// {DEP: OUTPUT, ...}}`. Built on each call; cheap processors never ask.
  /// On the loop, or in a blocking processor from any thread (see above).
  [[nodiscard]] boost::json::value input() const;

  /// Appends input() as JSON text to `out`, the same text boost::json::serialize(input()) gives, written
  /// straight from the run's values: what a processor that hands its input on as text (a native plugin)
  /// calls instead. Same threads as input().
  void append_input_json(std::string& out) const;

  /// The run's input alone (the `input` member of input()). Fixed for the
  /// run: any thread.
  [[nodiscard]] const boost::json::value& run_input() const noexcept;

  /// The event that started the run, or null when none did. Any thread.
  [[nodiscard]] const run_event* event() const noexcept;

  /// Streams a line of output to the observers, who receive it on the loop.
  /// On the loop, or in a blocking processor from any thread (see above).
  void emit_output(output_stream stream, std::string_view line) const;

  /// True once the engine asked this attempt to stop (timeout or run
  /// cancellation). Blocking processors poll it; async ones also see the
  /// coroutine's cancellation state. Any thread.
  [[nodiscard]] bool stop_requested() const noexcept { return stop_->load(std::memory_order_relaxed); }

  /// How long a terminated child process gets after SIGTERM before SIGKILL.
  /// Any thread.
  [[nodiscard]] std::chrono::milliseconds kill_grace() const noexcept;

  /// The pool for blocking work; null when the host gave none. Any thread.
  [[nodiscard]] boost::asio::thread_pool* blocking_pool() const noexcept;

 private:
  friend class blocking_processor;

  run_state* state_;
  std::uint32_t node_;
  run_id id_;
  unsigned attempt_;
  const std::atomic<bool>* stop_;
  // Set on the loop just before a blocking attempt moves to the pool, reset
  // once it is back: while set, input() and emit_output() touch no run state.
  const detail::pool_snapshot* snapshot_ = nullptr;
};

/// What a task does. Async processors return an awaitable that runs on the
/// engine's executor; blocking ones derive from blocking_processor. Both look
/// the same to the graph. One processor object may serve many tasks and many
/// concurrent attempts: run() must not keep per-attempt state in members.
class processor {
 public:
  virtual ~processor() = default;
  /// Runs one attempt. Cancellation arrives through the coroutine's
  /// cancellation state (terminal); the awaitable should then finish promptly.
  [[nodiscard]] virtual boost::asio::awaitable<outcome> run(task_context& ctx) = 0;
};

/// A processor whose work blocks: the engine runs run_blocking() on the
/// thread pool and resumes the graph on its executor when it returns.
class blocking_processor : public processor {
 public:
  /// Called on a pool thread. Should poll ctx.stop_requested() if long. Any
  /// member of ctx may be called from any thread until it returns.
  [[nodiscard]] virtual outcome run_blocking(task_context& ctx) = 0;
  [[nodiscard]] boost::asio::awaitable<outcome> run(task_context& ctx) final;
};

/// A processor whose attempts finish without waiting for anything: no I/O,
/// timer, pool or child process, and no blocking. The engine calls
/// run_now() inline on its executor's thread, so such a task costs no
/// coroutine; run() does the same for callers that await it.
class immediate_processor : public processor {
 public:
  [[nodiscard]] virtual outcome run_now(task_context& ctx) = 0;
  [[nodiscard]] boost::asio::awaitable<outcome> run(task_context& ctx) final;
};

using async_function = std::function<boost::asio::awaitable<outcome>(task_context&)>;
using blocking_function = std::function<outcome(task_context&)>;

/// A processor from a coroutine function.
[[nodiscard]] std::shared_ptr<processor> make_async_processor(async_function fn);
/// A processor from a plain function run on the thread pool.
[[nodiscard]] std::shared_ptr<processor> make_blocking_processor(blocking_function fn);
/// A processor from a plain function that finishes at once, run inline on
/// the engine's thread (see immediate_processor): it must not block.
[[nodiscard]] std::shared_ptr<processor> make_immediate_processor(blocking_function fn);

}  // namespace cascadence::engine

#pragma once

// The engine's per-run bookkeeping. Internal: only engine/ includes this.

#include "engine/graph.hpp"
#include "engine/processor.hpp"
#include "engine/runner.hpp"

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/container/small_vector.hpp>

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <unordered_map>
#include <vector>

namespace cascadence::engine {

namespace detail {

// What a blocking attempt reads of the run on the pool, taken on the loop
// before the hand-off: the loop goes on changing the task table meanwhile
// (a sparse run's hash map grows as tasks settle). The outputs are settled
// records', which are never written again, in a vector that never
// reallocates during the run (its capacity is reserved up front).
struct pool_snapshot final {
  // One per dependency, in graph::dependencies() order; null when the
  // dependency has no record.
  boost::container::small_vector<const boost::json::value*, 4> dependency_outputs;
};

}  // namespace detail

class run_state final {
 public:
  using completion = boost::asio::any_completion_handler<void(run_report)>;

  // Owns itself from start() on: once every involved task settled and every
  // worker returned, it completes `handler` with the report and deletes
  // itself.
  run_state(const graph& g, run_options options, boost::asio::any_io_executor ex, run_canceller* canceller,
            completion handler);
  ~run_state();
  run_state(const run_state&) = delete;
  run_state& operator=(const run_state&) = delete;

  /// Settles what can be settled at once and starts the first worker.
  void start(std::span<const task_id> targets);
  // Counts the run's tasks, tells the observers and starts the ready ones.
  void finish_start(std::size_t involved);

  void cancel(std::string reason);

  // For task_context.
  [[nodiscard]] const graph& g() const noexcept { return g_; }
  [[nodiscard]] const run_options& options() const noexcept { return options_; }
  [[nodiscard]] const boost::asio::any_io_executor& executor() const noexcept { return ex_; }
  // On the loop.
  [[nodiscard]] boost::json::value input_of(task_id task) const;
  // input_of()'s text, serialized straight from the run's values (no tree is built).
  void append_input_json(task_id task, std::string& out) const;
  void snapshot_for_pool(task_id task, detail::pool_snapshot& out) const;
  // Any thread: reads only what is fixed for the run, and `snapshot`.
  [[nodiscard]] boost::json::value input_from(task_id task, const detail::pool_snapshot& snapshot) const;
  // On the loop.
  void emit_output(task_id task, output_stream stream, std::string_view line);

 private:
  // A worker is one coroutine running ready tasks one after another; there
  // are as many as tasks can usefully run at once (max_concurrency).
  struct worker {
    boost::asio::cancellation_signal signal;
    // Timeouts and retry back-off; made on first use, so workers of tasks
    // without either (most of them) do not carry a timer.
    std::unique_ptr<boost::asio::steady_timer> timer;
    std::uint64_t generation = 0;   // tells a stale timeout from the current one
    std::atomic<bool> stop{false};  // polled by blocking processors
    bool timed_out = false;
    bool busy = false;  // inside a task (as opposed to between tasks)
  };

  // How an attempt ended, for the worker's retry loop.
  enum class attempt_end : std::uint8_t { settled, retry };

  struct node_state {
    static constexpr std::uint32_t not_involved = UINT32_MAX;
    // Unsettled dependencies; not_involved for tasks outside the run.
    std::uint32_t pending = not_involved;
    std::uint32_t record = UINT32_MAX;
    std::uint32_t failed_dependency = UINT32_MAX;
    [[nodiscard]] bool involved() const noexcept { return pending != not_involved; }
  };

  [[nodiscard]] boost::asio::awaitable<void> work(worker& w);
  void spawn_worker();
  void request_spawn_check() {
    if (!spawn_check_pending_ && !ready_.empty()) post_spawn_check();
  }
  void post_spawn_check();
  // Inline: once per task, and their bodies are mostly skipped branches.
  inline void start_attempt(worker& w, std::uint32_t index, unsigned attempt, const task_settings& settings);
  [[nodiscard]] inline attempt_end finish_attempt(worker& w, task_id task, std::uint32_t index, unsigned attempt,
                                                  outcome&& out) noexcept;
  [[nodiscard]] inline attempt_end record_attempt(const task_settings& settings, std::uint32_t index, unsigned attempt,
                                                  outcome&& out, bool timed_out) noexcept;
  // Runs the ready tasks that finish at once, then hands the rest to a worker.
  void start_ready();
  void run_ready_now();
  [[nodiscard]] boost::asio::awaitable<void> yield_to_loop();
  [[nodiscard]] boost::asio::awaitable<void> wait_to_retry(worker& w, std::uint32_t index,
                                                           const task_settings& settings, unsigned attempt);
  void cancel_before_start(std::uint32_t index);
  // Returns true when no other task settled with it.
  bool settle(task_id task);
  std::uint32_t open_record(task_id task);
  [[nodiscard]] boost::asio::steady_timer& timer_of(worker& w);
  void arm_timeout(worker& w, std::chrono::milliseconds timeout);
  void finish_if_done();
  // Posted by finish_if_done(): completes the handler, deletes the state.
  void complete();
  [[nodiscard]] std::chrono::milliseconds backoff(const retry_policy& policy, unsigned attempt);

  const graph& g_;
  run_options options_;
  boost::asio::any_io_executor ex_;
  run_canceller* canceller_;
  run_report report_;
  // Per-task run state, indexed by task id: a dense array when the run
  // involves much of the graph, a hash map when it involves a few tasks of
  // a large one (a cron fire of one task must not cost the graph's size).
  // Looking up a task outside the run yields a not-involved state.
  class node_table {
   public:
    void make_dense(std::size_t n) {
      sparse_ = false;
      dense_.assign(n, node_state{});
    }
    void make_sparse() noexcept { sparse_ = true; }
    [[nodiscard]] bool sparse() const noexcept { return sparse_; }
    node_state& operator[](task_id id) { return sparse_ ? find_or_add(id).first : dense_[id]; }
    [[nodiscard]] node_state get(task_id id) const {
      if (!sparse_) return dense_[id];
      const auto* found = find_sparse(id);
      return found != nullptr ? *found : node_state{};
    }
    // The sparse entry of `id`, added (not involved) if missing; true when
    // added. References stay valid until the next addition.
    std::pair<node_state&, bool> find_or_add(task_id id);
    void clear_sparse() noexcept {
      few_.clear();
      many_.clear();
    }

   private:
    // A run of one task, or a handful, looks its few entries up in place;
    // past few_capacity they move to a hash map.
    static constexpr std::size_t few_capacity = 8;
    [[nodiscard]] const node_state* find_sparse(task_id id) const;

    bool sparse_ = false;
    std::vector<node_state> dense_;
    boost::container::small_vector<std::pair<task_id, node_state>, few_capacity> few_;
    std::unordered_map<task_id, node_state> many_;
  };
  [[nodiscard]] bool start_sparse(std::span<const task_id> targets);
  node_table nodes_;
  // Tasks ready to start, run in the order they became ready. Besides being
  // fair, first-ready-first-run walks a layered graph layer by layer, which
  // keeps the working set small; a stack walked it depth first, touching
  // the whole graph's data for every few tasks.
  class ready_queue final {
   public:
    [[nodiscard]] bool empty() const noexcept { return head_ == items_.size(); }
    [[nodiscard]] std::size_t size() const noexcept { return items_.size() - head_; }
    [[nodiscard]] task_id front() const noexcept { return items_[head_]; }
    void push(task_id task) { items_.push_back(task); }
    task_id pop() noexcept {
      const auto task = items_[head_++];
      if (head_ == items_.size()) {
        items_.clear();
        head_ = 0;
      } else if (head_ >= compact_after && head_ * 2 >= items_.size()) {
        compact();
      }
      return task;
    }

   private:
    // Popped entries outnumber live ones: drop them (amortised O(1)).
    void compact() noexcept;

    static constexpr std::size_t compact_after = 4096;
    boost::container::small_vector<task_id, 8> items_;
    std::size_t head_ = 0;
  };
  ready_queue ready_;
  boost::container::small_vector<task_id, 8> stack_;  // scratch: closure walk, then settling cascades
  // The first worker lives here (most runs need one); more on the heap, for
  // stable addresses (a std::deque would allocate even while empty).
  worker first_worker_;
  bool first_worker_used_ = false;
  std::vector<std::unique_ptr<worker>> more_workers_;
  boost::container::small_vector<worker*, 4> idle_workers_;
  std::size_t active_workers_ = 0;
  std::size_t busy_workers_ = 0;
  std::size_t unsettled_ = 0;
  std::size_t limit_ = 0;
  bool spawn_check_pending_ = false;
  bool cancelled_ = false;
  bool completing_ = false;
  completion handler_;
};

}  // namespace cascadence::engine

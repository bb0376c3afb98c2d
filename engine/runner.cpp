#include "engine/runner.hpp"

#include "core/describe.hpp"
#include "engine/detail/run_state.hpp"
#include "engine/duration.hpp"
#include "engine/observer.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/assert.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serializer.hpp>

#include <algorithm>
#include <random>
#include <string>
#include <type_traits>

namespace cascadence::engine {

namespace asio = boost::asio;

namespace {
// A worker that runs tasks that complete without suspending yields to the
// loop this often, so other coroutines on a shared io_context keep running.
constexpr unsigned fairness_batch = 256;
}  // namespace

bool run_report::succeeded() const noexcept {
  return std::all_of(records.begin(), records.end(),
                     [](const task_record& r) { return r.status == run_status::success; });
}

const task_record* run_report::find(task_id task) const noexcept {
  for (const auto& r : records) {
    if (r.task == task) return &r;
  }
  return nullptr;
}

void run_canceller::cancel(std::string reason) {
  if (requested_) return;
  requested_ = true;
  reason_ = std::move(reason);
  if (state_ != nullptr) state_->cancel(reason_);
}

run_state::run_state(const graph& g, run_options options, asio::any_io_executor ex, run_canceller* canceller,
                     completion handler)
    : g_(g), options_(std::move(options)), ex_(std::move(ex)), canceller_(canceller), handler_(std::move(handler)) {
  report_.id = options_.id ? *options_.id : run_id::random();
  limit_ = options_.max_concurrency == 0 ? SIZE_MAX : options_.max_concurrency;
  if (canceller_ != nullptr) canceller_->state_ = this;
}

run_state::~run_state() {
  if (canceller_ != nullptr) canceller_->state_ = nullptr;
}

// A run of a few tasks of a large graph keeps its state in a hash map: walk
// the closure from the targets and give up (for the dense array) once it
// grows past a sixteenth of the graph.
bool run_state::start_sparse(std::span<const task_id> targets) {
  constexpr std::size_t dense_below = 256;
  constexpr std::size_t few_targets = 64;
  if (g_.size() < dense_below || targets.size() > few_targets) return false;
  const std::size_t limit = g_.size() / 16;
  auto& stack = stack_;
  boost::container::small_vector<task_id, 8> involved;
  stack.assign(targets.begin(), targets.end());
  while (!stack.empty()) {
    const auto id = stack.back();
    stack.pop_back();
    auto [node, added] = nodes_.find_or_add(id);
    if (!added) continue;
    const auto deps = g_.dependencies(id);
    node.pending = static_cast<std::uint32_t>(deps.size());
    involved.push_back(id);
    if (involved.size() > limit) {
      nodes_.clear_sparse();
      stack.clear();
      return false;
    }
    stack.insert(stack.end(), deps.begin(), deps.end());
  }
  nodes_.make_sparse();
  report_.records.reserve(involved.size());
  unsettled_ = involved.size();
  for (auto* obs : options_.observers) obs->on_run_started(g_, report_.id, involved.size());
  std::sort(involved.begin(), involved.end());  // roots in graph order, as the dense path
  for (auto id : involved) {
    if (nodes_[id].pending == 0) ready_.push(id);
  }
  return true;
}

void run_state::start(std::span<const task_id> targets) {
  if (options_.dependencies && start_sparse(targets)) {
    if (canceller_ != nullptr && canceller_->requested()) cancel(canceller_->reason());
    start_ready();
    return;
  }
  nodes_.make_dense(g_.size());
  // Mark the targets' closure. It holds every dependency of each of its
  // tasks, so a task's pending count is simply its number of dependencies.
  // A task is marked (pending 0) when found, then visited: counted, its
  // dependencies marked.
  std::size_t involved = 0;
  const auto mark = [&](task_id id) {
    if (nodes_[id].involved()) return false;
    nodes_[id].pending = 0;
    ++involved;
    return true;
  };
  const auto visit = [&](task_id id, auto&& found) {
    const auto deps = g_.dependencies(id);
    nodes_[id].pending = static_cast<std::uint32_t>(deps.size());
    for (auto dep : deps) {
      if (mark(dep)) found(dep);
    }
  };
  for (auto id : targets) mark(id);
  if (!options_.dependencies) {
    // Targets alone: each waits only for the other targets it depends on.
    for (auto id : targets) {
      const auto deps = g_.dependencies(id);
      nodes_[id].pending = static_cast<std::uint32_t>(
          std::count_if(deps.begin(), deps.end(), [&](task_id dep) { return nodes_[dep].involved(); }));
    }
    finish_start(involved);
    return;
  }
  // Graphs are usually built dependencies first (each dependency has a
  // smaller id than its dependents). Then one sweep down the ids visits
  // every task after all its dependents: sequential reads and no stack,
  // where a depth-first walk jumps all over the graph's arrays.
  bool dependencies_first = true;
  for (auto id = static_cast<task_id>(g_.size()); id-- > 0;) {
    if (!nodes_[id].involved()) continue;
    visit(id, [&](task_id dep) { dependencies_first = dependencies_first && dep < id; });
  }
  if (!dependencies_first) {
    // Some task was marked after the sweep passed it: finish depth first
    // from everything marked (visiting a task twice is harmless).
    auto& stack = stack_;
    for (task_id id = 0; id < g_.size(); ++id) {
      if (nodes_[id].involved()) stack.push_back(id);
    }
    while (!stack.empty()) {
      const auto id = stack.back();
      stack.pop_back();
      visit(id, [&](task_id dep) { stack.push_back(dep); });
    }
  }
  finish_start(involved);
}

void run_state::finish_start(std::size_t involved) {
  report_.records.reserve(involved);
  unsettled_ = involved;
  for (auto* obs : options_.observers) obs->on_run_started(g_, report_.id, involved);
  // Roots in graph order.
  for (task_id id = 0; id < g_.size(); ++id) {
    if (nodes_[id].involved() && nodes_[id].pending == 0) ready_.push(id);
  }
  if (canceller_ != nullptr && canceller_->requested()) cancel(canceller_->reason());
  start_ready();
}

void run_state::start_ready() {
  run_ready_now();
  if (!ready_.empty()) spawn_worker();
  finish_if_done();
}

// Ready tasks whose processors finish without waiting run here, one after
// another, rather than in a worker: a run made of such tasks (a scheduled
// echo, a no-op) then costs no coroutine. A task that could need one (it may
// be retried after a back-off) stops the loop, as does a full batch: the
// worker spawned after takes over from there.
void run_state::run_ready_now() {
  using clock = std::chrono::system_clock;
  for (unsigned n = 0; n < fairness_batch && !ready_.empty(); ++n) {
    const task_id task = ready_.front();
    auto* proc = g_.immediate(task);
    const auto& settings = g_.settings(task);
    if (proc == nullptr || settings.retry.retries != 0) return;
    (void)ready_.pop();
    const auto index = open_record(task);
    if (cancelled_) {
      cancel_before_start(index);
    } else {
      // A timeout cannot fire before the loop runs again, by which time the
      // attempt is over: none is armed.
      auto& rec = report_.records[index];
      rec.started = clock::now();
      rec.attempts = 1;
      for (auto* obs : options_.observers) obs->on_task_started(g_, rec, 1);
      const std::atomic<bool> never_stopped{false};
      try {
        task_context ctx(*this, task, rec.id, 1, never_stopped);
        (void)record_attempt(settings, index, 1, proc->run_now(ctx), false);
      } catch (...) {
        (void)record_attempt(settings, index, 1, outcome::failure(core::describe_current()), false);
      }
      report_.records[index].finished = clock::now();
    }
    settle(task);
  }
}

void run_state::complete() {
  // A spawn check or a worker may have started since the post: the run is
  // over only when all of them are done again (they call finish_if_done()).
  completing_ = false;
  if (unsettled_ != 0 || active_workers_ != 0 || spawn_check_pending_) return;
  auto slot = asio::get_associated_cancellation_slot(handler_);
  if (slot.is_connected()) slot.clear();
  for (auto* obs : options_.observers) obs->on_run_finished(g_, report_.id);
  auto report = std::move(report_);
  auto handler = std::move(handler_);
  const auto ex = asio::get_associated_executor(handler, ex_);
  delete this;
  asio::dispatch(ex, [handler = std::move(handler), report = std::move(report)]() mutable {
    std::move(handler)(std::move(report));
  });
}

void run_state::cancel(std::string reason) {
  if (cancelled_) return;
  cancelled_ = true;
  report_.cancel_reason = std::move(reason);
  const auto stop = [](worker& w) {
    if (w.busy) {
      w.stop = true;
      w.signal.emit(asio::cancellation_type::terminal);
    }
  };
  stop(first_worker_);
  for (auto& w : more_workers_) stop(*w);
  // Ready tasks are settled by the workers as they pop them; make sure some
  // worker does even if all of them are suspended in cancelled tasks.
  request_spawn_check();
}

void run_state::finish_if_done() {
  if (unsettled_ != 0 || active_workers_ != 0 || spawn_check_pending_ || completing_) return;
  // Posted, never inline: the caller (a worker's completion, start()) is
  // still using the state, and a handler must not run inside its initiation.
  completing_ = true;
  asio::post(ex_, [this] { complete(); });
}

void run_state::spawn_worker() {
  worker* w = nullptr;
  if (!idle_workers_.empty()) {
    w = idle_workers_.back();
    idle_workers_.pop_back();
  } else {
    w = std::exchange(first_worker_used_, true) ? more_workers_.emplace_back(std::make_unique<worker>()).get()
                                                : &first_worker_;
  }
  ++active_workers_;
  asio::co_spawn(ex_, work(*w), asio::bind_cancellation_slot(w->signal.slot(), [this, w](const std::exception_ptr&) {
                   // work() catches everything a task can throw; what reaches
                   // here is a bug in the engine and must not hang the run.
                   --active_workers_;
                   w->signal.slot().clear();
                   idle_workers_.push_back(w);
                   finish_if_done();
                 }));
}

std::pair<run_state::node_state&, bool> run_state::node_table::find_or_add(task_id id) {
  if (many_.empty()) {
    for (auto& [key, node] : few_) {
      if (key == id) return {node, false};
    }
    if (few_.size() < few_capacity) return {few_.emplace_back(id, node_state{}).second, true};
    for (const auto& [key, node] : few_) many_.emplace(key, node);
    few_.clear();
  }
  auto [it, added] = many_.try_emplace(id);
  return {it->second, added};
}

const run_state::node_state* run_state::node_table::find_sparse(task_id id) const {
  if (!many_.empty()) {
    const auto it = many_.find(id);
    return it == many_.end() ? nullptr : &it->second;
  }
  for (const auto& [key, node] : few_) {
    if (key == id) return &node;
  }
  return nullptr;
}

void run_state::ready_queue::compact() noexcept {
  items_.erase(items_.begin(), items_.begin() + static_cast<std::ptrdiff_t>(head_));
  head_ = 0;
}

void run_state::post_spawn_check() {
  spawn_check_pending_ = true;
  // Runs only once every worker has given the loop back: if all of them
  // are then suspended inside tasks, the ready tasks need new workers.
  asio::post(ex_, [this] {
    spawn_check_pending_ = false;
    if (busy_workers_ >= active_workers_) {
      const auto room = limit_ > active_workers_ ? limit_ - active_workers_ : 0;
      for (std::size_t i = 0, n = std::min(ready_.size(), room); i < n; ++i) spawn_worker();
    }
    finish_if_done();
  });
}

void run_state::start_attempt(worker& w, std::uint32_t index, unsigned attempt, const task_settings& settings) {
  auto& rec = report_.records[index];
  rec.attempts = attempt;
  for (auto* obs : options_.observers) obs->on_task_started(g_, rec, attempt);
  w.timed_out = false;
  // Relaxed: a blocking processor reads it on the pool only after the
  // hand-off there, which orders this store before its reads.
  w.stop.store(false, std::memory_order_relaxed);
  if (settings.timeout.count() > 0) arm_timeout(w, settings.timeout);
}

run_state::attempt_end run_state::finish_attempt(worker& w, task_id task, std::uint32_t index, unsigned attempt,
                                                 outcome&& out) noexcept {
  const auto& settings = g_.settings(task);
  ++w.generation;
  if (settings.timeout.count() > 0) w.timer->cancel();
  return record_attempt(settings, index, attempt, std::move(out), w.timed_out);
}

run_state::attempt_end run_state::record_attempt(const task_settings& settings, std::uint32_t index, unsigned attempt,
                                                 outcome&& out, bool timed_out) noexcept {
  // The record keeps the last attempt's status and error: a success after a
  // failed attempt clears the error (attempts says a retry happened).
  auto& rec = report_.records[index];
  if (cancelled_) {
    rec.status = run_status::cancelled;
    rec.error = "cancelled: " + report_.cancel_reason;
    return attempt_end::settled;
  }
  if (timed_out) {
    rec.status = run_status::timed_out;
    rec.error = "timed out after " + format_duration(settings.timeout);
  } else if (out.ok) {
    rec.status = run_status::success;
    if (attempt > 1) rec.error.clear();
    // The record's output is null already; most outputs are null too.
    if (!out.output.is_null()) rec.output = std::move(out.output);
    return attempt_end::settled;
  } else {
    rec.status = run_status::failed;
    rec.error = std::move(out.error);
  }
  return attempt > settings.retry.retries ? attempt_end::settled : attempt_end::retry;
}

asio::awaitable<void> run_state::work(worker& w) {
  // The whole life of a task is inlined here rather than awaited as a
  // coroutine of its own: a frame per task costs as much as an empty task.
  //
  // Reading the clock costs more than the engine's own work between two
  // tasks, so a worker going straight from one task to the next reads it
  // once: the previous task's finish is the next one's start. Only when
  // nothing else ran in between: no suspension, no observer, no cascade of
  // skipped tasks.
  using clock = std::chrono::system_clock;
  clock::time_point boundary{};  // the epoch: none
  unsigned batch = 0;
  while (!ready_.empty()) {
    if (++batch == fairness_batch) {
      batch = 0;
      boundary = {};
      co_await yield_to_loop();
      if (ready_.empty()) break;
    }
    const task_id task = ready_.pop();
    if (!ready_.empty()) request_spawn_check();

    const auto index = open_record(task);
    if (cancelled_) {
      cancel_before_start(index);
      settle(task);
      boundary = {};
      continue;
    }
    report_.records[index].started = boundary != clock::time_point{} ? boundary : clock::now();
    boundary = {};
    w.busy = true;
    ++busy_workers_;
    for (unsigned attempt = 1;; ++attempt) {
      start_attempt(w, index, attempt, g_.settings(task));
      // A worker's frame lives as long as the worker, and a run may hold
      // as many suspended workers as tasks: the outcome and the failures
      // below are temporaries rather than named locals, which GCC would all
      // keep in the frame. The outcome is also built in place: moving a
      // json::value into an existing one costs several times an empty task.
      attempt_end end = attempt_end::settled;
      try {
        task_context ctx(*this, task, report_.records[index].id, attempt, w.stop);
        if (auto* now = g_.immediate(task)) {
          end = finish_attempt(w, task, index, attempt, now->run_now(ctx));
        } else {
          end = finish_attempt(w, task, index, attempt, co_await g_.proc(task).run(ctx));
        }
      } catch (...) {
        end = finish_attempt(w, task, index, attempt, outcome::failure(core::describe_current()));
      }
      // Only the engine signals a worker, and it sets stop first. Reset in
      // place: awaiting a coroutine while cancelled would throw.
      if (w.stop.load(std::memory_order_relaxed) &&
          (co_await asio::this_coro::cancellation_state).cancelled() != asio::cancellation_type::none) {
        co_await asio::this_coro::reset_cancellation_state();
      }
      if (end == attempt_end::settled) break;
      co_await wait_to_retry(w, index, g_.settings(task), attempt);
      if (cancelled_) break;
    }
    w.busy = false;
    --busy_workers_;
    report_.records[index].finished = clock::now();
    if (settle(task) && options_.observers.empty()) boundary = report_.records[index].finished;
  }
}

std::uint32_t run_state::open_record(task_id task) {
  // Never past the capacity start() reserved: blocking attempts on the pool
  // hold pointers into the records (see detail::pool_snapshot).
  BOOST_ASSERT(report_.records.size() < report_.records.capacity());
  const auto index = static_cast<std::uint32_t>(report_.records.size());
  auto& rec = report_.records.emplace_back();
  rec.task = task;
  rec.id = run_id::random();
  rec.run = report_.id;
  rec.user_hash = options_.user_hash;
  nodes_[task].record = index;
  return index;
}

asio::steady_timer& run_state::timer_of(worker& w) {
  if (!w.timer) w.timer = std::make_unique<asio::steady_timer>(ex_);
  return *w.timer;
}

void run_state::cancel_before_start(std::uint32_t index) {
  auto& rec = report_.records[index];
  rec.status = run_status::cancelled;
  rec.error = "cancelled before start: " + report_.cancel_reason;
  rec.started = rec.finished = std::chrono::system_clock::now();
}

// The rare awaits of work() are coroutines of their own so that their state
// stays out of the frame every worker keeps. Only where the worker cannot be
// cancelled: awaiting a coroutine throws while cancellation is pending.

asio::awaitable<void> run_state::yield_to_loop() {
  // Between tasks a worker is never cancelled (only busy ones are), so this
  // cannot throw.
  co_await asio::post(ex_, asio::use_awaitable);
}

asio::awaitable<void> run_state::wait_to_retry(worker& w, std::uint32_t index, const task_settings& settings,
                                               unsigned attempt) {
  auto& timer = timer_of(w);
  timer.expires_after(backoff(settings.retry, attempt));
  auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
  (void)ec;
  if ((co_await asio::this_coro::cancellation_state).cancelled() != asio::cancellation_type::none) {
    co_await asio::this_coro::reset_cancellation_state();
  }
  if (cancelled_) {
    auto& rec = report_.records[index];
    rec.status = run_status::cancelled;
    rec.error = "cancelled while waiting to retry: " + report_.cancel_reason;
  }
}

void run_state::arm_timeout(worker& w, std::chrono::milliseconds timeout) {
  const auto generation = ++w.generation;
  auto& timer = timer_of(w);
  timer.expires_after(timeout);
  timer.async_wait([&w, generation](boost::system::error_code ec) {
    if (ec || w.generation != generation || !w.busy) return;
    w.timed_out = true;
    w.stop = true;
    w.signal.emit(asio::cancellation_type::terminal);
  });
}

std::chrono::milliseconds run_state::backoff(const retry_policy& policy, unsigned attempt) {
  auto d = policy.backoff;
  for (unsigned i = 1; i < attempt && d < policy.backoff_max; ++i) d *= 2;
  d = std::min(d, policy.backoff_max);
  if (d.count() <= 1) return d;
  // Seeded once per thread: seeding per run cost more than a small run itself.
  thread_local std::minstd_rand jitter(std::random_device{}());
  std::uniform_int_distribution<std::chrono::milliseconds::rep> half(d.count() / 2, d.count());
  return std::chrono::milliseconds(half(jitter));
}

bool run_state::settle(task_id first) {
  // `first` has its record complete. Settling it may settle dependents at
  // once (skipped, or cancelled), and theirs: an explicit stack keeps a long
  // failed chain from deepening the C++ stack.
  auto& stack = stack_;
  task_id task = first;
  bool alone = true;
  for (;;) {
    const auto& rec = report_.records[nodes_[task].record];
    --unsettled_;
    for (auto* obs : options_.observers) obs->on_task_finished(g_, rec);

    const bool succeeded = rec.status == run_status::success;
    for (auto next : g_.dependents(task)) {
      auto& n = nodes_[next];
      if (!n.involved()) continue;
      if (!succeeded && n.failed_dependency == UINT32_MAX) n.failed_dependency = task;
      if (--n.pending != 0) continue;
      if (cancelled_ || n.failed_dependency != UINT32_MAX) {
        stack.push_back(next);
      } else {
        ready_.push(next);
      }
    }
    if (stack.empty()) break;

    alone = false;
    task = stack.back();
    stack.pop_back();
    auto& skipped = report_.records[open_record(task)];
    if (cancelled_) {
      skipped.status = run_status::cancelled;
      skipped.error = "cancelled before start: " + report_.cancel_reason;
    } else {
      skipped.status = run_status::skipped;
      skipped.error = "dependency '" + std::string(g_.name(nodes_[task].failed_dependency)) + "' did not succeed";
    }
    skipped.started = skipped.finished = std::chrono::system_clock::now();
  }
  if (!ready_.empty()) request_spawn_check();
  finish_if_done();
  return alone;
}

boost::json::value run_state::input_of(task_id task) const {
  detail::pool_snapshot snapshot;
  snapshot_for_pool(task, snapshot);
  return input_from(task, snapshot);
}

namespace {

// Appends a value or a string as JSON text, through a serializer and a buffer on the stack.
template <typename T>
void append_json(std::string& out, const T& what) {
  boost::json::serializer sr;
  if constexpr (std::is_same_v<T, boost::json::value>) {
    sr.reset(&what);
  } else {
    sr.reset(boost::json::string_view(what));
  }
  char buffer[512];
  while (!sr.done()) {
    const auto piece = sr.read(buffer, sizeof buffer);
    out.append(piece.data(), piece.size());
  }
}

}  // namespace

void run_state::append_input_json(task_id task, std::string& out) const {
  // The members in input_from()'s order, as boost::json::serialize() prints that object.
  out += R"({"task":)";
  append_json(out, g_.name(task));
  out += R"(,"input":)";
  append_json(out, options_.input);
  out += R"(,"dependencies":{)";
  bool first = true;
  for (auto dep : g_.dependencies(task)) {
    const auto node = nodes_.get(dep);
    if (node.record == UINT32_MAX) continue;
    if (!first) out.push_back(',');
    first = false;
    append_json(out, g_.name(dep));
    out.push_back(':');
    append_json(out, report_.records[node.record].output);
  }
  out += "}}";
}

void run_state::snapshot_for_pool(task_id task, detail::pool_snapshot& out) const {
  const auto deps = g_.dependencies(task);
  out.dependency_outputs.reserve(deps.size());
  for (auto dep : deps) {
    const auto node = nodes_.get(dep);
    out.dependency_outputs.push_back(node.record != UINT32_MAX ? &report_.records[node.record].output : nullptr);
  }
}

boost::json::value run_state::input_from(task_id task, const detail::pool_snapshot& snapshot) const {
  boost::json::object deps;
  const auto names = g_.dependencies(task);
  for (std::size_t i = 0; i < names.size(); ++i) {
    if (const auto* output = snapshot.dependency_outputs[i]) deps[g_.name(names[i])] = *output;
  }
  boost::json::object in;
  in["task"] = g_.name(task);
  in["input"] = options_.input;
  in["dependencies"] = std::move(deps);
  return in;
}

void run_state::emit_output(task_id task, output_stream stream, std::string_view line) {
  const auto& node = nodes_[task];
  if (node.record == UINT32_MAX) return;
  const auto& rec = report_.records[node.record];
  for (auto* obs : options_.observers) obs->on_task_output(g_, rec, stream, line);
}

namespace detail {

void start_run(const graph& g, std::span<const task_id> targets, run_options options, run_canceller* canceller,
               asio::any_io_executor ex, asio::any_completion_handler<void(run_report)> handler) {
  auto slot = asio::get_associated_cancellation_slot(handler);
  auto* state = new run_state(g, std::move(options), std::move(ex), canceller, std::move(handler));
  if (slot.is_connected()) {
    slot.assign([state](asio::cancellation_type type) {
      if (type != asio::cancellation_type::none) state->cancel("cancelled by the caller");
    });
  }
  state->start(targets);
}

}  // namespace detail

asio::awaitable<run_report> run_graph(const graph& g, std::span<const task_id> targets, run_options options,
                                      run_canceller* canceller) {
  // Named, not temporaries inside the co_await: GCC 12 mishandles those.
  auto ex = co_await asio::this_coro::executor;
  auto run = async_run_graph(std::move(ex), g, targets, std::move(options), canceller, asio::use_awaitable);
  co_return co_await std::move(run);
}

}  // namespace cascadence::engine

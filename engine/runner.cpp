#include "engine/runner.hpp"

#include "engine/detail/run_state.hpp"
#include "engine/duration.hpp"
#include "engine/observer.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/object.hpp>

#include <algorithm>

namespace cascadence::engine {

namespace asio = boost::asio;

namespace {
// A worker that runs tasks that complete without suspending yields to the
// loop this often, so other coroutines on a shared io_context keep running.
constexpr unsigned fairness_batch = 256;

bool is_abort(const boost::system::system_error& e) {
  return e.code() == asio::error::operation_aborted;
}
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

run_state::run_state(const graph& g, run_options options, asio::any_io_executor ex, run_canceller* canceller)
    : g_(g),
      options_(std::move(options)),
      ex_(std::move(ex)),
      canceller_(canceller),
      done_(ex_, asio::steady_timer::time_point::max()),
      jitter_(std::random_device{}()) {
  report_.id = options_.id.value_or(run_id::random());
  limit_ = options_.max_concurrency == 0 ? SIZE_MAX : options_.max_concurrency;
  if (canceller_ != nullptr) canceller_->state_ = this;
}

run_state::~run_state() {
  if (canceller_ != nullptr) canceller_->state_ = nullptr;
}

void run_state::start(std::span<const task_id> targets) {
  nodes_.resize(g_.size());
  const auto involved = g_.closure(targets);
  report_.records.reserve(involved.size());
  for (auto id : involved) nodes_[id].involved = true;
  for (auto id : involved) {
    std::uint32_t pending = 0;
    for (auto dep : g_.dependencies(id)) pending += nodes_[dep].involved ? 1 : 0;
    nodes_[id].pending = pending;
  }
  unsettled_ = involved.size();
  for (auto* obs : options_.observers) obs->on_run_started(g_, report_.id, involved.size());
  // Roots in reverse so the worker's LIFO pops them in graph order.
  for (auto it = involved.rbegin(); it != involved.rend(); ++it) {
    if (nodes_[*it].pending == 0) ready_.push_back(*it);
  }
  if (canceller_ != nullptr && canceller_->requested()) cancel(canceller_->reason());
  if (!ready_.empty()) spawn_worker();
  finish_if_done();
}

asio::awaitable<void> run_state::wait() {
  while (unsettled_ != 0 || active_workers_ != 0) {
    auto [ec] = co_await done_.async_wait(asio::as_tuple(asio::use_awaitable));
    (void)ec;  // woken by finish_if_done() or by the caller's cancellation
    if (unsettled_ == 0 && active_workers_ == 0) break;
    // finish_if_done() may have fired in a moment when no worker was active,
    // and a spawn check posted before it then started one that finds nothing
    // to do: that wake is not a cancellation. Only the awaiting coroutine's
    // cancellation state says the caller cancelled.
    if ((co_await asio::this_coro::cancellation_state).cancelled() != asio::cancellation_type::none) {
      // Cancel the run, then keep waiting so the report is complete and no
      // worker outlives us.
      co_await asio::this_coro::reset_cancellation_state();
      cancel("cancelled by the caller");
    }
  }
}

run_report run_state::take_report() {
  for (auto* obs : options_.observers) obs->on_run_finished(g_, report_.id);
  return std::move(report_);
}

void run_state::cancel(std::string reason) {
  if (cancelled_) return;
  cancelled_ = true;
  report_.cancel_reason = std::move(reason);
  for (auto& w : workers_) {
    if (w.busy) {
      w.stop = true;
      w.signal.emit(asio::cancellation_type::terminal);
    }
  }
  // Ready tasks are settled by the workers as they pop them; make sure some
  // worker does even if all of them are suspended in cancelled tasks.
  request_spawn_check();
}

void run_state::finish_if_done() {
  if (unsettled_ == 0 && active_workers_ == 0) done_.cancel();
}

void run_state::spawn_worker() {
  worker* w = nullptr;
  if (!idle_workers_.empty()) {
    w = idle_workers_.back();
    idle_workers_.pop_back();
  } else {
    w = &workers_.emplace_back(ex_);
  }
  ++active_workers_;
  asio::co_spawn(ex_, work(*w), asio::bind_cancellation_slot(w->signal.slot(), [this, w](std::exception_ptr) {
                   // work() catches everything a task can throw; what reaches
                   // here is a bug in the engine and must not hang the run.
                   --active_workers_;
                   w->signal.slot().clear();
                   idle_workers_.push_back(w);
                   finish_if_done();
                 }));
}

void run_state::request_spawn_check() {
  if (spawn_check_pending_ || ready_.empty()) return;
  spawn_check_pending_ = true;
  // Runs only once every worker has given the loop back: if all of them
  // are then suspended inside tasks, the ready tasks need new workers.
  asio::post(ex_, [this] {
    spawn_check_pending_ = false;
    if (busy_workers_ < active_workers_) return;
    const auto room = limit_ > active_workers_ ? limit_ - active_workers_ : 0;
    const auto wanted = active_workers_ == 0 ? std::max<std::size_t>(ready_.size(), 1) : ready_.size();
    for (std::size_t i = 0, n = std::min(wanted, room); i < n; ++i) spawn_worker();
  });
}

asio::awaitable<void> run_state::work(worker& w) {
  unsigned batch = 0;
  while (!ready_.empty()) {
    if (++batch == fairness_batch) {
      batch = 0;
      // Between tasks a worker is never cancelled (only busy ones are), so
      // this cannot throw.
      co_await asio::post(ex_, asio::use_awaitable);
      if (ready_.empty()) break;
    }
    const task_id task = ready_.back();
    ready_.pop_back();
    if (!ready_.empty()) request_spawn_check();
    co_await execute(w, task);
  }
}

std::uint32_t run_state::open_record(task_id task) {
  const auto index = static_cast<std::uint32_t>(report_.records.size());
  auto& rec = report_.records.emplace_back();
  rec.task = task;
  rec.id = run_id::random();
  nodes_[task].record = index;
  return index;
}

void run_state::arm_timeout(worker& w, std::chrono::milliseconds timeout) {
  const auto generation = ++w.generation;
  w.timer.expires_after(timeout);
  w.timer.async_wait([this, &w, generation](boost::system::error_code ec) {
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
  std::uniform_int_distribution<std::chrono::milliseconds::rep> half(d.count() / 2, d.count());
  return std::chrono::milliseconds(half(jitter_));
}

asio::awaitable<void> run_state::execute(worker& w, task_id task) {
  if (cancelled_) {
    settle(task, run_status::cancelled, "cancelled before start: " + report_.cancel_reason, nullptr);
    co_return;
  }
  const auto index = open_record(task);
  const auto& settings = g_.settings(task);
  report_.records[index].started = std::chrono::system_clock::now();

  run_status status = run_status::failed;
  std::string error;
  boost::json::value output;
  w.busy = true;
  ++busy_workers_;
  for (unsigned attempt = 1;; ++attempt) {
    auto& rec = report_.records[index];
    rec.attempts = attempt;
    for (auto* obs : options_.observers) obs->on_task_started(g_, rec, attempt);
    w.timed_out = false;
    w.stop = false;
    if (settings.timeout.count() > 0) arm_timeout(w, settings.timeout);

    outcome out;
    try {
      task_context ctx(*this, task, rec.id, attempt, w.stop);
      out = co_await g_.proc(task).run(ctx);
    } catch (const boost::system::system_error& e) {
      out = outcome::failure(is_abort(e) ? "aborted" : e.what());
    } catch (const std::exception& e) {
      out = outcome::failure(e.what());
    } catch (...) {
      out = outcome::failure("unknown exception");
    }
    ++w.generation;
    if (settings.timeout.count() > 0) w.timer.cancel();
    if ((co_await asio::this_coro::cancellation_state).cancelled() != asio::cancellation_type::none) {
      co_await asio::this_coro::reset_cancellation_state();
    }

    if (cancelled_) {
      status = run_status::cancelled;
      error = "cancelled: " + report_.cancel_reason;
      break;
    }
    if (w.timed_out) {
      status = run_status::timed_out;
      error = "timed out after " + format_duration(settings.timeout);
    } else if (out.ok) {
      status = run_status::success;
      output = std::move(out.output);
      break;
    } else {
      status = run_status::failed;
      error = std::move(out.error);
    }
    if (attempt > settings.retry.retries) break;

    w.timer.expires_after(backoff(settings.retry, attempt));
    auto [ec] = co_await w.timer.async_wait(asio::as_tuple(asio::use_awaitable));
    (void)ec;
    if ((co_await asio::this_coro::cancellation_state).cancelled() != asio::cancellation_type::none) {
      co_await asio::this_coro::reset_cancellation_state();
    }
    if (cancelled_) {
      status = run_status::cancelled;
      error = "cancelled while waiting to retry: " + report_.cancel_reason;
      break;
    }
  }
  w.busy = false;
  --busy_workers_;
  report_.records[index].finished = std::chrono::system_clock::now();
  settle(task, status, std::move(error), std::move(output));
}

void run_state::settle(task_id first, run_status first_status, std::string first_error,
                       boost::json::value first_output) {
  // Settling a task may settle its dependents at once (skipped), and theirs:
  // an explicit stack keeps a long failed chain from deepening the C++ stack.
  auto& stack = settle_stack_;
  stack.push_back({first, first_status});
  bool first_item = true;
  while (!stack.empty()) {
    const auto [task, status] = stack.back();
    stack.pop_back();
    auto& node = nodes_[task];
    if (node.record == UINT32_MAX) open_record(task);
    auto& rec = report_.records[node.record];
    rec.status = status;
    if (first_item) {
      rec.error = std::move(first_error);
      rec.output = std::move(first_output);
      first_item = false;
    } else if (status == run_status::skipped) {
      rec.error = "dependency '" + std::string(g_.name(node.failed_dependency)) + "' did not succeed";
    } else {
      rec.error = "cancelled before start: " + report_.cancel_reason;
    }
    if (rec.started == std::chrono::system_clock::time_point{}) {
      rec.started = rec.finished = std::chrono::system_clock::now();
    }
    --unsettled_;
    for (auto* obs : options_.observers) obs->on_task_finished(g_, rec);

    for (auto next : g_.dependents(task)) {
      auto& n = nodes_[next];
      if (!n.involved) continue;
      if (status != run_status::success && n.failed_dependency == UINT32_MAX) n.failed_dependency = task;
      if (--n.pending != 0) continue;
      if (cancelled_) {
        stack.push_back({next, run_status::cancelled});
      } else if (n.failed_dependency != UINT32_MAX) {
        stack.push_back({next, run_status::skipped});
      } else {
        ready_.push_back(next);
      }
    }
  }
  if (!ready_.empty()) request_spawn_check();
  finish_if_done();
}

boost::json::value run_state::input_of(task_id task) const {
  boost::json::object deps;
  for (auto dep : g_.dependencies(task)) {
    const auto& node = nodes_[dep];
    if (node.record != UINT32_MAX) deps[g_.name(dep)] = report_.records[node.record].output;
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

asio::awaitable<run_report> run_graph(const graph& g, std::span<const task_id> targets, run_options options,
                                      run_canceller* canceller) {
  run_state state(g, std::move(options), co_await asio::this_coro::executor, canceller);
  state.start(targets);
  co_await state.wait();
  co_return state.take_report();
}

}  // namespace cascadence::engine

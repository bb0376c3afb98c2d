#include "adapters/events/emitter.hpp"

#include "adapters/events/event_json.hpp"
#include "core/async_event.hpp"
#include "core/describe.hpp"
#include "core/spawn.hpp"
#include "engine/graph.hpp"
#include "engine/runner.hpp"

#include <deque>
#include <map>
#include <vector>

namespace cascadence::adapters::events {

namespace asio = boost::asio;
using steady = std::chrono::steady_clock;

struct emitter::state final {
  state(asio::any_io_executor e, std::unique_ptr<transport> t, emitter_options o, emitter_hooks h)
      : ex(std::move(e)), carrier(std::move(t)), options(o), hooks(std::move(h)), idle(ex) {
    idle.set();
  }

  asio::any_io_executor ex;
  std::unique_ptr<transport> carrier;
  emitter_options options;
  emitter_hooks hooks;
  std::deque<event> queue;
  bool sending = false;
  bool closed = false;
  core::async_event idle;
  counts total;
  // Drops not logged yet, by reason, and the last failure's message.
  std::map<std::string, std::uint64_t, std::less<>> unlogged;
  std::string last_failure;
  std::optional<steady::time_point> last_log;

  void drop(std::string_view reason, std::uint64_t n, std::string message = {}) {
    if (n == 0) return;
    total.dropped += n;
    if (hooks.dropped) hooks.dropped(carrier->name(), reason, n);
    unlogged[std::string(reason)] += n;
    if (!message.empty()) last_failure = std::move(message);
    const auto now = steady::now();
    if (!last_log || now - *last_log >= options.log_every) log_drops(now);
  }

  void log_drops(steady::time_point now) {
    if (unlogged.empty()) return;
    last_log = now;
    if (!hooks.log) {
      unlogged.clear();
      return;
    }
    std::uint64_t n = 0;
    std::string reasons;
    for (const auto& [reason, count] : unlogged) {
      n += count;
      reasons += (reasons.empty() ? "" : ", ") + reason + ' ' + std::to_string(count);
    }
    std::string line = "events: " + std::to_string(n) + " event" + (n == 1 ? "" : "s") + " dropped on " +
                       std::string(carrier->name()) + " (" + reasons + ")";
    if (!last_failure.empty()) line += ": " + last_failure;
    unlogged.clear();
    last_failure.clear();
    hooks.log(line);
  }

  void push(event e) {
    if (closed) return;
    ++total.queued;
    if (queue.size() >= options.queue_limit) {
      drop("queue_full", 1, "the queue of " + std::to_string(options.queue_limit) + " events is full");
      return;
    }
    queue.push_back(std::move(e));
    if (!sending) {
      sending = true;
      idle.reset();
      auto self = owner.lock();
      core::spawn(ex, send_all(self), "event sender", [self](std::string_view, std::string_view why) {
        self->drop("send_failed", self->queue.size(), std::string(why));
        self->queue.clear();
        self->sending = false;
        self->idle.set();
      });
    }
  }

  // Sends until the queue is empty. Holds the state alive through `self`
  // (the emitter may be destroyed while a send is in flight).
  static asio::awaitable<void> send_all(std::shared_ptr<state> self) {
    while (!self->queue.empty() && !self->closed) {
      std::vector<event> batch;
      const auto n = std::min(self->queue.size(), self->options.batch_limit);
      batch.reserve(n);
      for (std::size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(self->queue.front()));
        self->queue.pop_front();
      }
      std::optional<send_failure> failure;
      const auto size = batch.size();
      try {
        auto sending = self->carrier->send(std::move(batch), self->options.deadline);
        failure = co_await std::move(sending);
      } catch (const std::exception&) {
        failure = send_failure{"send_failed", core::describe_current(), 0};
      }
      const std::size_t delivered = failure ? std::min(failure->delivered, size) : size;
      self->total.sent += delivered;
      if (delivered != 0 && self->hooks.sent) self->hooks.sent(self->carrier->name(), delivered);
      if (failure) self->drop(failure->reason, size - delivered, std::move(failure->message));
    }
    self->sending = false;
    self->idle.set();
  }

  std::weak_ptr<state> owner;
};

emitter::emitter(asio::any_io_executor ex, std::unique_ptr<transport> carrier, emitter_options options,
                 emitter_hooks hooks)
    : state_(std::make_shared<state>(std::move(ex), std::move(carrier), options, std::move(hooks))) {
  if (state_->options.batch_limit == 0) state_->options.batch_limit = 1;
  state_->owner = state_;
}

emitter::~emitter() {
  state_->closed = true;
  state_->hooks = {};
}

void emitter::push(event e) {
  state_->push(std::move(e));
}

void emitter::on_task_started(const engine::graph& g, const engine::task_record& record, unsigned attempt) {
  push({std::string(g.name(record.task)), task_started_event(g, record, attempt)});
}

void emitter::on_task_finished(const engine::graph& g, const engine::task_record& record) {
  push({std::string(g.name(record.task)), task_settled_event(g, record)});
}

asio::awaitable<void> emitter::drain(std::chrono::milliseconds within) {
  const auto s = state_;
  if (!s->idle.is_set()) {
    auto waiting = s->idle.wait_until(steady::now() + within);
    (void)co_await std::move(waiting);
  }
  if (!s->queue.empty()) {
    const auto left = s->queue.size();
    s->queue.clear();
    s->drop("shutdown", left, "still queued after " + std::to_string(within.count()) + " ms");
  }
  s->log_drops(steady::now());
}

emitter::counts emitter::totals() const noexcept {
  return state_->total;
}

std::string_view emitter::transport_name() const noexcept {
  return state_->carrier->name();
}

}  // namespace cascadence::adapters::events

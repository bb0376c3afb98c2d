#pragma once

#include "adapters/events/settings.hpp"
#include "adapters/events/transport.hpp"
#include "engine/observer.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace cascadence::adapters::events {

/// Where the emitter reports what it did; each may be empty.
struct emitter_hooks final {
  /// `n` events given up for `reason`: queue_full, timeout, send_failed, shutdown.
  std::function<void(std::string_view transport, std::string_view reason, std::uint64_t n)> dropped{};
  /// `n` events delivered.
  std::function<void(std::string_view transport, std::uint64_t n)> sent{};
  /// One line about drops, at most once per `log_every`.
  std::function<void(const std::string& line)> log{};
};

/// Run events (docs/events.md) as an engine observer: every task start and
/// settle becomes an event, queued in memory and sent by one coroutine on
/// `ex`, in order, so the run never waits for the transport. Use it from
/// `ex`'s thread only (the engine's observers are called there). The sender
/// runs only while there is something to send, so an io_context with
/// nothing else to do still returns from run().
class emitter final : public engine::observer {
 public:
  emitter(boost::asio::any_io_executor ex, std::unique_ptr<transport> carrier, emitter_options options = {},
          emitter_hooks hooks = {});
  /// A send in flight finishes on its own; nothing more is sent.
  ~emitter() override;
  emitter(const emitter&) = delete;
  emitter& operator=(const emitter&) = delete;

  void on_task_started(const engine::graph& g, const engine::task_record& record, unsigned attempt) override;
  void on_task_finished(const engine::graph& g, const engine::task_record& record) override;

  /// Queues one event (dropped, and counted, when the queue is full).
  void push(event e);

  /// Waits until every queued event was sent or given up, `within` at most;
  /// what is still queued then is dropped (`shutdown`). Logs the drops not
  /// logged yet. For the end of a process.
  [[nodiscard]] boost::asio::awaitable<void> drain(std::chrono::milliseconds within);

  struct counts final {
    std::uint64_t queued = 0;
    std::uint64_t sent = 0;
    std::uint64_t dropped = 0;
  };
  [[nodiscard]] counts totals() const noexcept;
  [[nodiscard]] std::string_view transport_name() const noexcept;

 private:
  struct state;
  std::shared_ptr<state> state_;
};

}  // namespace cascadence::adapters::events

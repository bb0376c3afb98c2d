#pragma once

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cascadence::adapters::events {

/// One event, serialised, with the task it is about (NATS subjects may name it).
struct event final {
  std::string task;
  /// The event's JSON text, one line, no newline.
  std::string json;
};

/// Why a send did not deliver everything.
struct send_failure final {
  /// The metric label: `timeout` (the deadline passed) or `send_failed`.
  std::string reason;
  /// What went wrong, for the log.
  std::string message;
  /// Events of the batch delivered before it went wrong.
  std::size_t delivered = 0;
};

/// Carries events somewhere: NATS, gRPC, HTTP, a file. The event emitter
/// calls send() from its executor's thread, one batch at a time, in order.
class transport {
 public:
  transport() = default;
  virtual ~transport() = default;
  transport(const transport&) = delete;
  transport& operator=(const transport&) = delete;

  /// The transport's name, the `transport` label of its metrics.
  [[nodiscard]] virtual std::string_view name() const noexcept = 0;
  /// Delivers `batch` in order, giving up by `timeout` at the latest
  /// (the batch is the transport's: it may move the events away).
  /// Nothing when all of it was delivered.
  [[nodiscard]] virtual boost::asio::awaitable<std::optional<send_failure>> send(std::vector<event> batch,
                                                                                 std::chrono::milliseconds timeout) = 0;
};

}  // namespace cascadence::adapters::events

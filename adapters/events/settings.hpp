#pragma once

#include <chrono>
#include <cstddef>
#include <string>

namespace cascadence::adapters::events {

/// How the emitter queues and sends.
struct emitter_options final {
  /// Events waiting to be sent; past it new events are dropped (`queue_full`).
  std::size_t queue_limit = 10000;
  /// Each send gives up after this long (`timeout`).
  std::chrono::milliseconds deadline{200};
  /// Events handed to the transport at once.
  std::size_t batch_limit = 1000;
  /// Drops are logged at most this often (the first one at once).
  std::chrono::milliseconds log_every{std::chrono::minutes(1)};
};

/// `events:` in the configuration and the global options --transport,
/// --nats-conn, --nats-subject, --grpc-stub, --grpc-method (docs/events.md).
struct settings final {
  /// none (events off), file, http, nats or grpc.
  std::string transport = "none";
  /// file: JSON lines appended here.
  std::string path{};
  /// http: JSON arrays of events POSTed here.
  std::string url{};
  /// nats: the server and the subject; `{task}` in it becomes the task's
  /// name (characters a subject token cannot hold become `_`).
  std::string nats_url = "nats://127.0.0.1:4222";
  std::string nats_subject = "events";
  /// grpc: `host:port` of a cascadence.events.v1 service, and the method.
  std::string grpc_target{};
  std::string grpc_method = "Send";
  emitter_options emitter{};

  [[nodiscard]] bool enabled() const noexcept { return transport != "none"; }
};

}  // namespace cascadence::adapters::events

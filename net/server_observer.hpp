#pragma once

// What the HTTP server counts and reports: a pull-style stats snapshot and a
// push-style observer that metrics and logging hook into.

#include "net/http_message.hpp"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace cascadence::net {

/// Responses counted by status class.
struct status_counts final {
  std::uint64_t informational = 0;  ///< 1xx
  std::uint64_t success = 0;        ///< 2xx
  std::uint64_t redirection = 0;    ///< 3xx
  std::uint64_t client_error = 0;   ///< 4xx
  std::uint64_t server_error = 0;   ///< 5xx

  /// Adds one response with `status`.
  void count(unsigned status) noexcept;
  /// All responses counted.
  [[nodiscard]] std::uint64_t total() const noexcept {
    return informational + success + redirection + client_error + server_error;
  }
};

/// A configured server limit.
enum class limit_kind : std::uint8_t {
  header_size,              ///< request header over header_limit: 431, connection closed
  body_size,                ///< request body over body_limit: 413, connection closed
  read_timeout,             ///< request not read within read_timeout: connection dropped
  handler_timeout,          ///< handler over handler_timeout: cancelled, 503
  connections,              ///< max_connections reached, none to shed: new connection closed at once
  requests_per_connection,  ///< max_requests_per_connection served: connection closed
  connections_per_client,   ///< max_connections_per_client reached: new connection closed at once
};

/// The name of a limit, for logs and metric labels ("header_size", ...).
[[nodiscard]] std::string_view to_string(limit_kind kind) noexcept;

/// How often each limit was hit.
struct limit_counts final {
  std::uint64_t header_size = 0;
  std::uint64_t body_size = 0;
  std::uint64_t read_timeout = 0;
  std::uint64_t handler_timeout = 0;
  std::uint64_t connections = 0;
  std::uint64_t requests_per_connection = 0;
  std::uint64_t connections_per_client = 0;

  /// Adds one hit of `kind`.
  void count(limit_kind kind) noexcept;
};

/// What a connection closed to make room for a new one at max_connections
/// was doing.
enum class shed_reason : std::uint8_t {
  idle,                ///< waiting for a request's first byte (a new connection, or keep-alive between requests)
  incomplete_request,  ///< in its TLS handshake, or part of a request head received
};

/// The name of a shed reason, for logs and metric labels ("idle", ...).
[[nodiscard]] std::string_view to_string(shed_reason reason) noexcept;

/// Connections counted by what they wait for (the reason they would be, or
/// were, shed for).
struct shed_counts final {
  std::uint64_t idle = 0;
  std::uint64_t incomplete_request = 0;

  /// Adds one connection shed for `reason`.
  void count(shed_reason reason) noexcept;
  /// All connections shed.
  [[nodiscard]] std::uint64_t total() const noexcept { return idle + incomplete_request; }
};

/// Responses of one registered route.
struct route_stats final {
  route_info route;
  status_counts responses;
};

/// A snapshot of the server's counters since it was constructed.
struct server_stats final {
  /// Every response written, routed or not (404, 400, 431 ... included).
  status_counts responses;
  /// One entry per registered route, in registration order.
  std::vector<route_stats> routes;
  limit_counts limits;
  std::uint64_t connections_accepted = 0;
  /// Connections currently open (sessions not yet ended).
  std::uint64_t connections_active = 0;
  /// Open connections waiting for a request or the rest of its head: the
  /// ones max_connections may shed.
  shed_counts connections_waiting;
  /// Connections closed to make room for new ones at max_connections.
  shed_counts connections_shed;
  /// Requests refused by the parser (400), before any handler ran.
  std::uint64_t malformed_requests = 0;
  /// Failed accept() calls, each followed by a back-off.
  std::uint64_t accept_errors = 0;
  /// Handlers that threw (answered 500).
  std::uint64_t handler_errors = 0;
  /// Sessions that ended with an unexpected exception.
  std::uint64_t session_errors = 0;
  /// Sessions still running when the shutdown grace period ran out.
  std::uint64_t forced_closes = 0;
};

/// One response the server wrote.
struct response_event final {
  /// Empty when the request could not be parsed.
  std::optional<http_method> method;
  /// The matched route, or null (404, 405, malformed requests).
  const route_info* route = nullptr;
  unsigned status = 0;
  /// From the request's header being read to the response being written.
  std::chrono::steady_clock::duration elapsed{};
};

/// Receives the server's events on the server's executor. Must not block;
/// metrics and logs implement it. Every function has a default.
class server_observer {
 public:
  virtual ~server_observer() = default;
  /// A response was written (or its write was attempted).
  virtual void on_response(const response_event& event) { (void)event; }
  /// A limit was hit.
  virtual void on_limit(limit_kind kind) { (void)kind; }
  /// A connection was closed to make room for a new one at max_connections.
  virtual void on_shed(shed_reason reason) { (void)reason; }
  /// An unexpected error: a handler or session threw, accept() failed. The
  /// default writes one line to std::clog.
  virtual void on_error(std::string_view what);
};

}  // namespace cascadence::net

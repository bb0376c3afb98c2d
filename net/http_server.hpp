#pragma once

#include "net/router.hpp"
#include "net/server_observer.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace boost::asio::ssl {
class context;
}

namespace cascadence::net {

namespace detail {
struct server_state;
}

/// Limits and timeouts of an HTTP server. Every default is safe to expose.
struct server_options final {
  /// Address to bind: an IP literal, or a name resolved once at start().
  std::string host = "127.0.0.1";
  /// Port to bind; 0 picks a free one (see http_server::port()).
  std::uint16_t port = 0;
  /// Request line plus header fields, in bytes. Over it: 431 and close.
  std::size_t header_limit = 8 * 1024;
  /// Request body, in bytes. Over it: 413 and close.
  std::uint64_t body_limit = 1024 * 1024;
  /// Each of these must complete within this time, or the client is dropped
  /// without an answer: the TLS handshake, the wait for a connection's first
  /// request, and every request from its first byte to its last.
  std::chrono::milliseconds read_timeout{std::chrono::seconds(10)};
  /// How long an idle keep-alive connection waits for its next request.
  std::chrono::milliseconds keep_alive_timeout{std::chrono::seconds(30)};
  /// How long a handler may run before it is cancelled and 503 sent.
  std::chrono::milliseconds handler_timeout{std::chrono::seconds(30)};
  /// How long writing one response may take.
  std::chrono::milliseconds write_timeout{std::chrono::seconds(10)};
  /// How long a closing connection may take to say goodbye (TLS
  /// close_notify, draining an unread request body after 4xx).
  std::chrono::milliseconds close_timeout{std::chrono::seconds(2)};
  /// Open connections. At the limit, a new connection takes the place of the
  /// one that has waited longest for a request (keep-alive between requests,
  /// or no complete request head yet), which is closed; with none waiting it
  /// is accepted and closed at once.
  std::size_t max_connections = 1024;
  /// Open connections from one client address (an IPv6 client's /64). A
  /// connection beyond it is accepted and closed at once, without shedding
  /// anyone's. 0 = no limit. Behind a reverse proxy every client has the
  /// proxy's address: raise it to max_connections there.
  std::size_t max_connections_per_client = 64;
  /// Requests served on one keep-alive connection before it is closed.
  std::size_t max_requests_per_connection = 1000;
  /// First and longest pause after a failed accept() (doubling in between).
  std::chrono::milliseconds accept_backoff{std::chrono::milliseconds(10)};
  std::chrono::milliseconds accept_backoff_max{std::chrono::seconds(1)};
  /// The Server header; empty sends none.
  std::string server_name = "cascadence";
  /// Receives events; null logs unexpected errors to std::clog. Not owned;
  /// must outlive the server's sessions.
  server_observer* observer = nullptr;
};

/// An HTTP/1.1 server on one executor: keep-alive, per-request limits and
/// timeouts, graceful shutdown. All member functions must be called from the
/// executor's thread (the single io_context thread Cascadence runs on).
class http_server final {
 public:
  /// A plain-HTTP server answering with `routes`.
  http_server(boost::asio::any_io_executor ex, router routes, server_options options = {});
  /// An HTTPS server: every connection starts with a TLS handshake using
  /// `tls`, which must outlive the server's sessions.
  http_server(boost::asio::any_io_executor ex, router routes, server_options options, boost::asio::ssl::context& tls);
  /// Stops with no grace period if still running (sessions are force-closed
  /// and end on the executor afterwards).
  ~http_server();
  http_server(const http_server&) = delete;
  http_server& operator=(const http_server&) = delete;

  /// Binds host:port, listens and starts accepting. Returns the error (bad
  /// address, port in use) as a value; call once.
  [[nodiscard]] boost::system::error_code start();

  /// The bound port once start() succeeded, else 0.
  [[nodiscard]] std::uint16_t port() const noexcept;

  /// Begins the shutdown protocol: stop accepting, close idle keep-alive
  /// connections now, let requests in flight finish (their responses say
  /// `Connection: close`), and after `grace` force-close what is left
  /// (cancelling handlers). Idempotent; a second call cannot extend the grace.
  void stop(std::chrono::milliseconds grace);

  /// Completes once stop() was called, the accept loop ended and every
  /// session ended.
  [[nodiscard]] boost::asio::awaitable<void> wait_stopped() const;

  /// A snapshot of the counters.
  [[nodiscard]] server_stats stats() const;

 private:
  std::shared_ptr<detail::server_state> state_;
};

}  // namespace cascadence::net

#pragma once

#include "core/result.hpp"
#include "net/http_message.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace cascadence::net {

using core::result;

namespace detail {
struct client_state;
}

/// How an http_client connects, waits, retries and pools.
struct client_options final {
  /// Resolving, connecting and the TLS handshake of one attempt.
  std::chrono::milliseconds connect_timeout{std::chrono::seconds(5)};
  /// Writing the request and reading the whole response of one attempt.
  std::chrono::milliseconds request_timeout{std::chrono::seconds(30)};
  /// Attempts per request (1 = no retry). Only connection errors and 5xx
  /// responses are retried, never 4xx, never a response timeout.
  unsigned max_attempts = 3;
  /// Retry n (n >= 1) waits min(backoff * 2^(n-1), backoff_max).
  std::chrono::milliseconds backoff{500};
  std::chrono::milliseconds backoff_max{std::chrono::seconds(30)};
  /// Verify the server's certificate chain and host name (HTTPS).
  bool verify_peer = true;
  /// A PEM file of extra trusted CAs, added to the system trust store.
  std::string ca_file;
  /// Idle keep-alive connections kept per host, and in total.
  std::size_t max_idle_per_host = 4;
  std::size_t max_idle_total = 64;
  /// An idle pooled connection older than this is not reused.
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(30)};
  /// Response status line plus header fields, in bytes.
  std::size_t header_limit = 64 * 1024;
  /// Response body, in bytes.
  std::uint64_t body_limit = 64 * 1024 * 1024;
  /// The User-Agent header; empty sends none.
  std::string user_agent = "cascadence";
};

/// A request to send. Host, Content-Length and User-Agent are set by the
/// client; headers given here win over User-Agent only.
struct client_request final {
  http_method method = http_method::get;
  /// `http://` or `https://` URL; the fragment is ignored.
  std::string url;
  header_map headers;
  std::string body;
};

/// A response received (any status, 4xx and 5xx included).
struct client_response final {
  unsigned status = 0;
  header_map headers;
  std::string body;
  /// Attempts made, 1 when the first one answered.
  unsigned attempts = 0;

  /// True for 2xx.
  [[nodiscard]] bool ok() const noexcept { return status_class(status) == 2; }
};

/// Why a request produced no response.
enum class client_errc : std::uint8_t {
  invalid_url,         ///< not an absolute http(s) URL we can send to
  invalid_request,     ///< a header name or value that cannot be sent
  unsupported_scheme,  ///< a scheme other than http or https
  resolve_failed,      ///< the host name did not resolve (retried)
  connect_failed,      ///< connection refused, reset or unreachable (retried)
  connect_timeout,     ///< connect_timeout elapsed while connecting (retried)
  tls_failed,          ///< TLS handshake refused, e.g. certificate not trusted
  timeout,             ///< request_timeout elapsed waiting for the response
  connection_closed,   ///< the server closed before answering (retried)
  protocol_error,      ///< the response was not valid HTTP
  response_too_large,  ///< header_limit or body_limit exceeded
  cancelled,           ///< the awaiting coroutine was cancelled
  http_status,         ///< fetch_json only: the status was not 2xx
  invalid_json,        ///< fetch_json only: the body was not JSON
};

/// A short name for `code` ("connect_failed", ...).
[[nodiscard]] std::string_view to_string(client_errc code) noexcept;

/// A request that failed: what, and why, with the URL's host.
struct client_error final {
  client_errc code = client_errc::connect_failed;
  std::string message;
  /// Attempts made before giving up.
  unsigned attempts = 0;
  /// The response status, for http_status errors.
  unsigned status = 0;
};

/// The outcome of one request.
using client_result = result<client_response, client_error>;

/// Counters of an http_client since construction.
struct client_stats final {
  std::uint64_t requests = 0;
  std::uint64_t attempts = 0;
  std::uint64_t retries = 0;
  std::uint64_t connections_opened = 0;
  std::uint64_t connections_reused = 0;
};

/// An HTTP/1.1 and HTTPS client on one executor with a small keep-alive pool
/// per host, timeouts and retries. Use it from the executor's thread.
/// Requests may run concurrently; each uses its own connection.
class http_client final {
 public:
  /// Throws std::runtime_error when `options.ca_file` cannot be loaded.
  explicit http_client(boost::asio::any_io_executor ex, client_options options = {});
  /// Pooled connections are closed; requests in flight keep what they need.
  ~http_client();
  http_client(const http_client&) = delete;
  http_client& operator=(const http_client&) = delete;

  /// Sends `req`, retrying connection errors and 5xx responses with
  /// exponential back-off. A response of any status is a value; an error is
  /// returned when no response arrived.
  [[nodiscard]] boost::asio::awaitable<client_result> send(client_request req);
  /// GET `url`.
  [[nodiscard]] boost::asio::awaitable<client_result> get(std::string url);
  /// POST `body` to `url` with `content_type`.
  [[nodiscard]] boost::asio::awaitable<client_result> post(std::string url, std::string body, std::string content_type);

  /// Closes every idle pooled connection.
  void close_idle() noexcept;
  /// A snapshot of the counters.
  [[nodiscard]] client_stats stats() const noexcept;

 private:
  std::shared_ptr<detail::client_state> state_;
};

}  // namespace cascadence::net

// The session layer of the HTTP server: one coroutine per connection,
// templated on the stream (plain TCP or TLS), reading one request at a time
// with a fresh parser and a per-request deadline, handing it to the router,
// and writing the answer.

#include "net/detail/beast_message.hpp"
#include "net/detail/server_state.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <array>
#include <exception>
#include <limits>
#include <optional>
#include <string>

namespace cascadence::net::detail {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
// How much the idle wait reads at once; the parser takes it from there.
constexpr std::size_t first_read_size = 4096;

using plain_stream = beast::tcp_stream;
using tls_stream = beast::ssl_stream<beast::tcp_stream>;

template <typename Stream>
constexpr bool is_tls = std::is_same_v<Stream, tls_stream>;

template <typename Stream>
void close_stream(void* stream) noexcept {
  try {
    beast::get_lowest_layer(*static_cast<Stream*>(stream)).close();
  } catch (...) {  // closing is best effort; the session ends either way
  }
}

// What a failed request read means for the connection.
enum class read_failure { gone, timed_out, malformed, header_too_large, body_too_large };

read_failure classify(const error_code& ec) {
  if (ec == beast::error::timeout) return read_failure::timed_out;
  if (ec == http::error::header_limit || ec == http::error::buffer_overflow) return read_failure::header_too_large;
  if (ec == http::error::body_limit) return read_failure::body_too_large;
  // The peer closed (at once or mid-request): nobody is left to answer.
  if (ec == http::error::end_of_stream || ec == http::error::partial_message) return read_failure::gone;
  // Every other error of the HTTP parser is a malformed request.
  if (ec.category() == http::make_error_code(http::error::bad_method).category()) return read_failure::malformed;
  return read_failure::gone;  // reset, closed by stop(), TLS failures
}

// A response the server writes itself, without a handler.
http::response<http::string_body> plain_response(const server_options& o, unsigned status, std::string body,
                                                 unsigned version, bool keep_alive) {
  http::response<http::string_body> out;
  out.version(version);
  out.result(status);
  if (!o.server_name.empty()) out.set(http::field::server, o.server_name);
  out.set(http::field::content_type, "text/plain; charset=utf-8");
  out.body() = std::move(body);
  out.keep_alive(keep_alive);
  out.prepare_payload();
  return out;
}

// A handler's response in Beast form; nothing when the handler produced
// something we must not send (bad status, header injection).
std::optional<http::response<http::string_body>> to_beast(const server_options& o, response&& r, unsigned version,
                                                          bool keep_alive, bool head_request) {
  if (r.status < 200 || r.status > 599) return std::nullopt;
  http::response<http::string_body> out;
  out.version(version);
  out.result(r.status);
  if (!o.server_name.empty()) out.set(http::field::server, o.server_name);
  if (!export_fields(r.headers, out.base())) return std::nullopt;
  if (!r.content_type.empty()) {
    if (!valid_field_value(r.content_type)) return std::nullopt;
    out.set(http::field::content_type, r.content_type);
  }
  if (r.status != 204 && r.status != 304) out.body() = std::move(r.body);
  out.keep_alive(keep_alive);
  out.prepare_payload();
  // HEAD: same header (Content-Length included), no body.
  if (head_request) out.body().clear();
  return out;
}

bool expects_continue(const http::request<http::string_body>& msg) {
  const auto expect = msg[http::field::expect];
  return msg.version() >= 11 && iequals(std::string_view(expect.data(), expect.size()), "100-continue");
}

// Says goodbye: TLS close_notify, or half-close and drain what the client
// still sends, so that the kernel does not answer its unread bytes with a
// reset that could destroy the response before the client read it.
template <typename Stream>
asio::awaitable<void> close_connection(server_state& st, Stream& stream, bool drain) {
  auto& tcp_layer = beast::get_lowest_layer(stream);
  tcp_layer.expires_after(st.options.close_timeout);
  if constexpr (is_tls<Stream>) {
    auto [ec] = co_await stream.async_shutdown(use_tuple);
    (void)ec;  // many peers never answer close_notify; we close regardless
  } else {
    error_code ec;
    tcp_layer.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (!ec && drain) {
      std::array<char, 4096> sink{};
      std::uint64_t budget = st.options.body_limit + st.options.header_limit;
      for (;;) {
        auto [read_ec, n] = co_await tcp_layer.async_read_some(asio::buffer(sink), use_tuple);
        if (read_ec || n >= budget) break;  // EOF, timeout or enough: close now
        budget -= n;
      }
    }
  }
  tcp_layer.close();
}

// Writes a response built by the server itself and closes the connection.
template <typename Stream>
asio::awaitable<void> refuse(server_state& st, Stream& stream, unsigned status, std::string body) {
  auto out = plain_response(st.options, status, std::move(body), 11, false);
  beast::get_lowest_layer(stream).expires_after(st.options.write_timeout);
  auto [ec, n] = co_await http::async_write(stream, out, use_tuple);
  st.count_response(response_event{std::nullopt, nullptr, status, {}});
  if (ec) co_return;  // the client is gone; nothing more to do
  co_await close_connection(st, stream, /*drain=*/true);
}

struct handler_outcome final {
  enum class kind { answered, failed, timed_out, force_closed };
  kind what = kind::answered;
  response res;
  std::exception_ptr error;
};

// Runs the router on `req`, racing the handler against its deadline. The
// deadline timer is also how stop() cancels a handler when the grace period
// runs out: it cancels the timer, the timer wins the race, and the group
// cancels the handler and waits for it.
asio::awaitable<handler_outcome> run_handler(server_state& st, session_entry& entry, request& req) {
  auto ex = co_await asio::this_coro::executor;
  asio::steady_timer deadline(ex, st.options.handler_timeout);
  entry.handler_deadline = &deadline;
  auto [order, handler_error, res, timer_ec] =
      co_await asio::experimental::make_parallel_group(asio::co_spawn(ex, st.routes.handle(req), asio::deferred),
                                                       deadline.async_wait(asio::deferred))
          .async_wait(asio::experimental::wait_for_one(), asio::deferred);
  entry.handler_deadline = nullptr;
  (void)timer_ec;  // which side won is what matters, read from `order`
  if (entry.force_closed) co_return handler_outcome{handler_outcome::kind::force_closed, {}, {}};
  if (order[0] == 1) co_return handler_outcome{handler_outcome::kind::timed_out, {}, {}};
  if (handler_error) co_return handler_outcome{handler_outcome::kind::failed, {}, handler_error};
  co_return handler_outcome{handler_outcome::kind::answered, std::move(res), {}};
}

std::string describe(std::exception_ptr e) {
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& x) {
    return x.what();
  } catch (...) {
    return "unknown exception";
  }
}

template <typename Stream>
asio::awaitable<void> run_session(server_state& st, Stream& stream, session_entry& entry,
                                  const std::string& remote_address) {
  const auto& o = st.options;
  auto& tcp_layer = beast::get_lowest_layer(stream);
  beast::flat_buffer buffer;
  for (std::size_t served = 0;; ++served) {
    if (st.stopping || entry.force_closed) co_return;

    // Idle: wait for the first byte of the next request. Closing here loses
    // nothing, so stop() may do it at once.
    if (buffer.size() == 0) {
      tcp_layer.expires_after(served == 0 ? o.read_timeout : o.keep_alive_timeout);
      entry.idle = true;
      auto [ec, n] = co_await stream.async_read_some(buffer.prepare(first_read_size), use_tuple);
      entry.idle = false;
      if (ec) {
        // A first request that never came is a slow client; a keep-alive
        // connection timing out between requests is just idle.
        if (ec == beast::error::timeout && served == 0) st.hit(limit_kind::read_timeout);
        co_return;  // EOF, idle timeout, closed by stop(), reset
      }
      buffer.commit(n);
    }

    // The request's deadline starts at its first byte and covers all of it.
    tcp_layer.expires_after(o.read_timeout);
    http::request_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(o.header_limit, UINT32_MAX)));
    parser.body_limit(o.body_limit);
    auto [read_ec, header_bytes] = co_await http::async_read_header(stream, buffer, parser, use_tuple);
    (void)header_bytes;
    // RFC 9112 section 6.3: a request whose transfer coding does not end in
    // chunked has no determinable length (Beast would read it as empty);
    // answer 400 and close rather than risk request smuggling.
    if (!read_ec && parser.get().count(http::field::transfer_encoding) != 0 && !parser.chunked()) {
      read_ec = http::error::bad_transfer_encoding;
    }
    if (!read_ec && !parser.is_done() && expects_continue(parser.get())) {
      http::response<http::empty_body> go_on{http::status::continue_, 11};
      auto [ec, n] = co_await http::async_write(stream, go_on, use_tuple);
      read_ec = ec;
    }
    if (!read_ec && !parser.is_done()) {
      auto [ec, n] = co_await http::async_read(stream, buffer, parser, use_tuple);
      read_ec = ec;
    }
    if (read_ec) {
      switch (classify(read_ec)) {
        case read_failure::gone:
          co_return;
        case read_failure::timed_out:
          st.hit(limit_kind::read_timeout);
          co_return;
        case read_failure::malformed:
          ++st.stats.malformed_requests;
          co_await refuse(st, stream, 400, "bad request\n");
          co_return;
        case read_failure::header_too_large:
          st.hit(limit_kind::header_size);
          co_await refuse(st, stream, 431, "request header fields too large\n");
          co_return;
        case read_failure::body_too_large:
          st.hit(limit_kind::body_size);
          co_await refuse(st, stream, 413, "content too large\n");
          co_return;
      }
      co_return;
    }
    if (entry.force_closed) co_return;

    const auto started = std::chrono::steady_clock::now();
    auto& msg = parser.get();
    if (msg.version() != 10 && msg.version() != 11) {
      co_await refuse(st, stream, 505, "HTTP version not supported\n");
      co_return;
    }
    const auto method = parse_method(std::string_view(msg.method_string().data(), msg.method_string().size()));
    std::optional<request> req;
    if (method) req = request::from_target(*method, std::string_view(msg.target().data(), msg.target().size()));
    if (method && !req) {
      ++st.stats.malformed_requests;
      co_await refuse(st, stream, 400, "bad request target\n");
      co_return;
    }

    response res;
    if (!req) {
      res = response::text(501, "method not implemented\n");
    } else {
      req->headers = import_fields(msg.base());
      req->body = std::move(msg.body());
      req->version = msg.version();
      req->remote_address = remote_address;
      auto outcome = co_await run_handler(st, entry, *req);
      switch (outcome.what) {
        case handler_outcome::kind::force_closed:
          co_return;
        case handler_outcome::kind::answered:
          res = std::move(outcome.res);
          break;
        case handler_outcome::kind::timed_out:
          st.hit(limit_kind::handler_timeout);
          res = response::text(503, "handler timed out\n");
          break;
        case handler_outcome::kind::failed:
          ++st.stats.handler_errors;
          st.report_error("handler for " + std::string(to_string(req->method)) + " " + req->path +
                          " threw: " + describe(outcome.error));
          res = response::text(500, "internal server error\n");
          break;
      }
    }

    // Decide about keep-alive after the handler: stop() may have begun.
    bool keep_alive = msg.keep_alive() && !st.stopping;
    if (keep_alive && served + 1 >= o.max_requests_per_connection) {
      st.hit(limit_kind::requests_per_connection);
      keep_alive = false;
    }
    const bool head = req && req->method == http_method::head;
    const unsigned status = res.status;
    auto out = to_beast(o, std::move(res), msg.version(), keep_alive, head);
    if (!out) {
      ++st.stats.handler_errors;
      st.report_error("handler for " + std::string(to_string(req->method)) + " " + req->path +
                      " produced an invalid response (status " + std::to_string(status) +
                      ", or a header with an invalid name or value)");
      out = plain_response(o, 500, "internal server error\n", msg.version(), keep_alive);
    }
    tcp_layer.expires_after(o.write_timeout);
    auto [write_ec, written] = co_await http::async_write(stream, *out, use_tuple);
    (void)written;
    st.count_response(response_event{req ? std::optional(req->method) : std::nullopt, req ? req->route : nullptr,
                                     out->result_int(), std::chrono::steady_clock::now() - started});
    if (write_ec) co_return;  // timed out, reset or force-closed: the connection is over
    if (!keep_alive) {
      co_await close_connection(st, stream, /*drain=*/false);
      co_return;
    }
  }
}

}  // namespace

asio::awaitable<void> serve_connection(std::shared_ptr<server_state> state, tcp::socket socket) {
  auto& st = *state;
  session_entry entry;
  session_registration registration(st, entry);
  if (st.stopping) co_return;

  error_code ec;
  const auto remote = socket.remote_endpoint(ec);
  const std::string remote_address = ec ? std::string() : remote.address().to_string();
  socket.set_option(tcp::no_delay(true), ec);  // best effort; a failure only costs latency

  if (st.tls != nullptr) {
    tls_stream stream(plain_stream(std::move(socket)), *st.tls);
    entry.stream = &stream;
    entry.close_stream = &close_stream<tls_stream>;
    beast::get_lowest_layer(stream).expires_after(st.options.read_timeout);
    entry.idle = true;
    auto [handshake_ec] = co_await stream.async_handshake(asio::ssl::stream_base::server, use_tuple);
    entry.idle = false;
    if (handshake_ec) {
      // Scanners, plain HTTP on the TLS port, untrusted clients: expected.
      if (handshake_ec == beast::error::timeout) st.hit(limit_kind::read_timeout);
      co_return;
    }
    co_await run_session(st, stream, entry, remote_address);
  } else {
    plain_stream stream(std::move(socket));
    entry.stream = &stream;
    entry.close_stream = &close_stream<plain_stream>;
    co_await run_session(st, stream, entry, remote_address);
  }
}

}  // namespace cascadence::net::detail

// The session layer of the HTTP server: one coroutine per connection,
// templated on the stream (plain TCP or TLS), reading one request at a time
// with a fresh parser and a per-request deadline, handing it to the router,
// and writing the answer.
//
// The per-request path is kept lean, because it is what a webhook sender
// waits on: the parser writes straight into a request object the
// connection reuses (its strings keep their storage), a request already in
// the read buffer is parsed without another asynchronous operation, a
// synchronous handler is called directly, and the response head is written
// into a reused string and sent with the body in one gathered write.

#include "core/describe.hpp"
#include "net/detail/io_deadline.hpp"
#include "net/detail/request_parser.hpp"
#include "net/detail/response_head.hpp"
#include "net/detail/server_state.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/http/error.hpp>
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
// What a connection's read buffer holds from the start, so that a request
// of a few KiB arrives in one read; it grows for larger ones.
constexpr std::size_t initial_buffer_size = 8 * 1024;
// How much one read asks for at most (Beast's own choice).
constexpr std::size_t max_read_size = 64 * 1024;

// Plain sockets: deadlines come from the connection's io_deadline, not from
// a timer per operation (beast::tcp_stream).
using plain_stream = tcp::socket;
using tls_stream = beast::ssl_stream<tcp::socket>;

template <typename Stream>
constexpr bool is_tls = std::is_same_v<Stream, tls_stream>;

template <typename Stream>
void close_stream(void* stream) noexcept {
  error_code ignored;  // closing is best effort; the session ends either way
  beast::get_lowest_layer(*static_cast<Stream*>(stream)).close(ignored);
}

// What a failed request read means for the connection.
enum class read_failure { gone, timed_out, malformed, header_too_large, body_too_large };

read_failure classify(const error_code& ec, const io_deadline& deadline) {
  if (deadline.expired()) return read_failure::timed_out;
  if (ec == http::error::header_limit || ec == http::error::buffer_overflow) return read_failure::header_too_large;
  if (ec == http::error::body_limit) return read_failure::body_too_large;
  // The peer closed (at once or mid-request): nobody is left to answer.
  if (ec == http::error::end_of_stream || ec == http::error::partial_message) return read_failure::gone;
  // Every other error of the HTTP parser is a malformed request.
  if (ec.category() == http::make_error_code(http::error::bad_method).category()) return read_failure::malformed;
  return read_failure::gone;  // reset, closed by stop(), TLS failures
}

// Parses what the buffer holds until `done`: success, a parse error, or
// need_more when the buffer ran out first.
template <typename Done>
error_code parse_buffered(beast::flat_buffer& buffer, request_parser& parser, Done done) {
  while (!done(parser)) {
    if (buffer.size() == 0) return http::error::need_more;
    error_code ec;
    buffer.consume(parser.put(buffer.data(), ec));
    if (ec) return ec;  // need_more included
  }
  return {};
}

// Parses and reads until `done`, as Beast's http::async_read does. Only
// called when parse_buffered() needs more: a small request usually came
// whole in the read that ended the idle wait, and is then parsed without
// another asynchronous operation (or coroutine frame).
template <typename Stream, typename Done>
asio::awaitable<error_code> read_until(Stream& stream, beast::flat_buffer& buffer, request_parser& parser, Done done) {
  for (;;) {
    if (const auto ec = parse_buffered(buffer, parser, done); ec != http::error::need_more) co_return ec;
    const auto size = beast::read_size(buffer, max_read_size);
    if (size == 0) co_return http::error::buffer_overflow;
    auto [ec, n] = co_await stream.async_read_some(buffer.prepare(size), use_tuple);
    buffer.commit(n);
    if (ec == asio::error::eof) {
      if (!parser.got_some()) co_return http::error::end_of_stream;
      error_code eof_ec;
      parser.put_eof(eof_ec);  // partial_message: the peer left mid-request
      if (eof_ec) co_return eof_ec;
      continue;
    }
    if (ec) co_return ec;
  }
}

// Says goodbye: TLS close_notify, or half-close and drain what the client
// still sends, so that the kernel does not answer its unread bytes with a
// reset that could destroy the response before the client read it. The
// drain ends at the client's EOF, after close_timeout, or after
// header_limit + body_limit bytes, whichever comes first.
template <typename Stream>
asio::awaitable<void> close_connection(server_state& st, Stream& stream, io_deadline& deadline, bool drain) {
  auto& tcp_layer = beast::get_lowest_layer(stream);
  deadline.expires_after(st.options.close_timeout);
  if constexpr (is_tls<Stream>) {
    auto [ec] = co_await stream.async_shutdown(use_tuple);
    (void)ec;  // many peers never answer close_notify; we close regardless
  } else {
    error_code ec;
    tcp_layer.shutdown(tcp::socket::shutdown_send, ec);
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
  error_code ignored;
  tcp_layer.close(ignored);
}

// Writes a plain-text response built by the server itself and closes the
// connection.
template <typename Stream>
asio::awaitable<void> refuse(server_state& st, Stream& stream, io_deadline& deadline, unsigned status,
                             std::string body) {
  const auto res = response::text(status, std::move(body));
  std::string head;
  (void)write_response_head(res, {11, false, st.options.server_name}, head);  // valid: our own status and fields
  deadline.expires_after(st.options.write_timeout);
  const std::array<asio::const_buffer, 2> buffers{asio::buffer(head), asio::buffer(res.body)};
  // clang-tidy 14 takes the coroutine frame's suspension for a use of `body`.
  // NOLINTNEXTLINE(bugprone-use-after-move)
  auto [ec, n] = co_await asio::async_write(stream, buffers, use_tuple);
  st.count_response(response_event{std::nullopt, nullptr, status, {}});
  if (ec) co_return;  // the client is gone; nothing more to do
  co_await close_connection(st, stream, deadline, /*drain=*/true);
}

// True when the client sent bytes the session has not read from the socket.
template <typename Stream>
bool has_unread_input(Stream& stream) {
  error_code ec;
  return beast::get_lowest_layer(stream).available(ec) != 0 && !ec;
}

struct handler_outcome final {
  enum class kind { answered, failed, timed_out, force_closed };
  kind what = kind::answered;
  std::optional<response> res;
  std::exception_ptr error;
};

// Runs the asynchronous handler the router matched for `req`, racing it
// against its deadline. The deadline timer is also how stop() cancels a
// handler when the grace period runs out: it cancels the timer, the timer
// wins the race, and the group cancels the handler and waits for it.
asio::awaitable<handler_outcome> run_async_handler(server_state& st, session_entry& entry, request& req) {
  auto ex = co_await asio::this_coro::executor;
  asio::steady_timer deadline(ex, st.options.handler_timeout);
  entry.handler_deadline = &deadline;
  auto [order, handler_error, res, timer_ec] =
      co_await asio::experimental::make_parallel_group(asio::co_spawn(ex, st.routes.await_handler(req), asio::deferred),
                                                       deadline.async_wait(asio::deferred))
          .async_wait(asio::experimental::wait_for_one(), asio::deferred);
  entry.handler_deadline = nullptr;
  (void)timer_ec;  // which side won is what matters, read from `order`
  if (entry.force_closed) co_return handler_outcome{handler_outcome::kind::force_closed, {}, {}};
  if (order[0] == 1) co_return handler_outcome{handler_outcome::kind::timed_out, {}, {}};
  if (handler_error) co_return handler_outcome{handler_outcome::kind::failed, {}, handler_error};
  co_return handler_outcome{handler_outcome::kind::answered, std::move(res), {}};
}

// Routes `req` and calls its handler when it is synchronous: such a
// handler cannot be cancelled, so it needs no deadline and no coroutine of
// its own. Nothing in `res` afterwards means an asynchronous one matched.
handler_outcome dispatch(server_state& st, request& req) {
  handler_outcome out;
  try {
    out.res = st.routes.dispatch(req);
  } catch (...) {
    out.what = handler_outcome::kind::failed;
    out.error = std::current_exception();
  }
  return out;
}

bool expects_continue(const request& req) {
  const auto expect = req.header("Expect");
  return req.version >= 11 && expect && iequals(*expect, "100-continue");
}

template <typename Stream>
asio::awaitable<void> run_session(server_state& st, Stream& stream, io_deadline& deadline, session_entry& entry,
                                  const std::string& remote_address) {
  const auto& o = st.options;
  beast::flat_buffer buffer;
  buffer.reserve(initial_buffer_size);
  // One request object and one head buffer for the whole connection: what
  // they hold is replaced request by request, their storage is kept.
  request req;
  std::string head;
  for (std::size_t served = 0;; ++served) {
    if (st.stopping || entry.force_closed || entry.shed) co_return;

    // Idle: wait for the first byte of the next request. Closing here loses
    // nothing, so stop() may do it at once, and so may a new connection
    // needing room (as it may until the request's head is complete).
    if (buffer.size() == 0) {
      deadline.expires_after(served == 0 ? o.read_timeout : o.keep_alive_timeout);
      entry.idle = true;
      st.mark_waiting(entry, shed_reason::idle);
      auto [ec, n] =
          co_await stream.async_read_some(buffer.prepare(beast::read_size(buffer, max_read_size)), use_tuple);
      entry.idle = false;
      if (ec) {
        // A first request that never came is a slow client; a keep-alive
        // connection timing out between requests is just idle.
        if (deadline.expired() && served == 0) st.hit(limit_kind::read_timeout);
        co_return;  // EOF, idle timeout, closed by stop(), reset
      }
      buffer.commit(n);
    }

    // The request's deadline starts at its first byte and covers all of it.
    deadline.expires_after(o.read_timeout);
    request_parser parser(req);
    parser.header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(o.header_limit, UINT32_MAX)));
    parser.body_limit(o.body_limit);
    parser.eager(false);  // stop after the header, to look at it before the body
    const auto header_done = [](const request_parser& p) { return p.is_header_done(); };
    st.mark_waiting(entry, shed_reason::incomplete_request);
    auto read_ec = parse_buffered(buffer, parser, header_done);
    if (read_ec == http::error::need_more) read_ec = co_await read_until(stream, buffer, parser, header_done);
    st.unmark_waiting(entry);
    // RFC 9112 section 6.3: a request whose transfer coding does not end in
    // chunked has no determinable length (Beast would read it as empty);
    // answer 400 and close rather than risk request smuggling.
    if (!read_ec && req.headers.contains("Transfer-Encoding") && !parser.chunked()) {
      read_ec = http::error::bad_transfer_encoding;
    }
    if (!read_ec && !parser.is_done() && expects_continue(req)) {
      auto [ec, n] = co_await asio::async_write(stream, asio::buffer(continue_head), use_tuple);
      read_ec = ec;
    }
    if (!read_ec) {
      parser.eager(true);
      const auto done = [](const request_parser& p) { return p.is_done(); };
      read_ec = parse_buffered(buffer, parser, done);
      if (read_ec == http::error::need_more) read_ec = co_await read_until(stream, buffer, parser, done);
    }
    if (read_ec) {
      switch (classify(read_ec, deadline)) {
        case read_failure::gone:
          co_return;
        case read_failure::timed_out:
          st.hit(limit_kind::read_timeout);
          co_return;
        case read_failure::malformed:
          ++st.stats.malformed_requests;
          co_await refuse(st, stream, deadline, 400, "bad request\n");
          co_return;
        case read_failure::header_too_large:
          st.hit(limit_kind::header_size);
          co_await refuse(st, stream, deadline, 431, "request header fields too large\n");
          co_return;
        case read_failure::body_too_large:
          st.hit(limit_kind::body_size);
          co_await refuse(st, stream, deadline, 413, "content too large\n");
          co_return;
      }
      co_return;
    }
    if (entry.force_closed) co_return;

    const auto started = std::chrono::steady_clock::now();
    const unsigned version = parser.version();
    if (version != 10 && version != 11) {
      co_await refuse(st, stream, deadline, 505, "HTTP version not supported\n");
      co_return;
    }
    const auto method = parser.method();
    if (method && !req.assign_target(*method, req.target)) {
      ++st.stats.malformed_requests;
      co_await refuse(st, stream, deadline, 400, "bad request target\n");
      co_return;
    }

    std::optional<response> res;
    if (!method) {
      res = response::text(501, "method not implemented\n");
    } else {
      req.remote_address = remote_address;
      auto outcome = dispatch(st, req);
      if (outcome.what == handler_outcome::kind::answered && !outcome.res) {
        deadline.expires_never();  // the handler's own deadline applies now
        outcome = co_await run_async_handler(st, entry, req);
      }
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
          st.report_error("handler for " + std::string(to_string(req.method)) + " " + req.path +
                          " threw: " + core::describe(outcome.error));
          res = response::text(500, "internal server error\n");
          break;
      }
    }

    // Decide about keep-alive after the handler: stop() may have begun.
    const bool client_keeps_alive = parser.keep_alive();
    bool keep_alive = client_keeps_alive && !st.stopping;
    if (keep_alive && served + 1 >= o.max_requests_per_connection) {
      st.hit(limit_kind::requests_per_connection);
      keep_alive = false;
    }
    head.clear();
    if (!write_response_head(*res, {version, keep_alive, o.server_name}, head)) {
      ++st.stats.handler_errors;
      st.report_error("handler for " + std::string(to_string(req.method)) + " " + req.path +
                      " produced an invalid response (status " + std::to_string(res->status) +
                      ", or a header with an invalid name or value)");
      res = response::text(500, "internal server error\n");
      head.clear();
      (void)write_response_head(*res, {version, keep_alive, o.server_name}, head);
    }
    // HEAD: the same head (Content-Length included), no body.
    const bool send_body = !(method == http_method::head) && status_allows_body(res->status);
    const std::array<asio::const_buffer, 2> buffers{asio::buffer(head),
                                                    send_body ? asio::buffer(res->body) : asio::const_buffer()};
    deadline.expires_after(o.write_timeout);
    auto [write_ec, written] = co_await asio::async_write(stream, buffers, use_tuple);
    (void)written;
    st.count_response(
        response_event{method, method ? req.route : nullptr, res->status, std::chrono::steady_clock::now() - started});
    if (write_ec) co_return;  // timed out, reset or force-closed: the connection is over
    if (!keep_alive) {
      // Lingering close, as nginx does it: a client that did not ask to
      // close may be sending its next requests (pipelined, or on their way),
      // and requests already here are never read; closing with unread input
      // makes the kernel reset the connection and drop the answers still in
      // our send queue. So drain first, unless nothing can be coming.
      const bool drain = client_keeps_alive || buffer.size() != 0 || has_unread_input(stream);
      co_await close_connection(st, stream, deadline, drain);
      co_return;
    }
  }
}

}  // namespace

asio::awaitable<void> serve_connection(std::shared_ptr<server_state> state, tcp::socket socket,
                                       asio::ip::address client) {
  auto& st = *state;
  session_entry entry;
  session_registration registration(st, entry, client);
  if (st.stopping) co_return;

  error_code ec;
  const auto remote = socket.remote_endpoint(ec);
  const std::string remote_address = ec ? std::string() : remote.address().to_string();
  socket.set_option(tcp::no_delay(true), ec);  // best effort; a failure only costs latency

  if (st.tls != nullptr) {
    tls_stream stream(std::move(socket), *st.tls);
    io_deadline deadline(beast::get_lowest_layer(stream));
    entry.stream = &stream;
    entry.close_stream = &close_stream<tls_stream>;
    deadline.expires_after(st.options.read_timeout);
    entry.idle = true;
    st.mark_waiting(entry, shed_reason::incomplete_request);
    auto [handshake_ec] = co_await stream.async_handshake(asio::ssl::stream_base::server, use_tuple);
    st.unmark_waiting(entry);
    entry.idle = false;
    if (handshake_ec) {
      // Scanners, plain HTTP on the TLS port, untrusted clients: expected.
      if (deadline.expired()) st.hit(limit_kind::read_timeout);
      co_return;
    }
    co_await run_session(st, stream, deadline, entry, remote_address);
  } else {
    plain_stream stream(std::move(socket));
    io_deadline deadline(stream);
    entry.stream = &stream;
    entry.close_stream = &close_stream<plain_stream>;
    co_await run_session(st, stream, deadline, entry, remote_address);
  }
}

}  // namespace cascadence::net::detail

#include "net/http_server.hpp"
#include "tests/unit/net/net_test_support.hpp"

#include <doctest/doctest.h>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>

#include <stdexcept>
#include <string>
#include <vector>

using namespace cascadence::net;
using namespace cascadence::test;
using namespace std::chrono_literals;

namespace {

bool starts_with(std::string_view text, std::string_view prefix) {
  return text.substr(0, prefix.size()) == prefix;
}

std::size_t count_of(std::string_view text, std::string_view needle) {
  std::size_t n = 0;
  for (auto pos = text.find(needle); pos != std::string_view::npos; pos = text.find(needle, pos + 1)) ++n;
  return n;
}

router hello_router() {
  router r;
  r.get("/hello", [](request&) { return response::text(200, "hello"); });
  r.post("/echo", [](request& req) { return response::text(200, req.body); });
  return r;
}

// Records what the server reports.
struct recording_observer final : server_observer {
  std::vector<unsigned> statuses;
  std::vector<limit_kind> limits;
  std::vector<shed_reason> sheds;
  std::vector<std::string> errors;
  void on_response(const response_event& e) override { statuses.push_back(e.status); }
  void on_limit(limit_kind k) override { limits.push_back(k); }
  void on_shed(shed_reason r) override { sheds.push_back(r); }
  void on_error(std::string_view what) override { errors.emplace_back(what); }
};

// Opens a connection to 127.0.0.1:port from `source`, another loopback
// address (all of 127.0.0.0/8 is loopback on Linux): another client.
asio::awaitable<tcp::socket> connect_from(std::string_view source, std::uint16_t port) {
  tcp::socket socket(co_await asio::this_coro::executor);
  socket.open(tcp::v4());
  socket.bind({asio::ip::make_address(source), 0});
  co_await socket.async_connect(loopback(port), asio::use_awaitable);
  co_return socket;
}

// Sends one keep-alive GET /hello and reads its answer.
asio::awaitable<std::string> hello_on(tcp::socket& socket) {
  const std::string req = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
  co_await asio::async_write(socket, asio::buffer(req), asio::use_awaitable);
  co_return co_await read_until_contains(socket, "hello");
}

// One response of a stream of them: its head and its body.
struct parsed_response final {
  std::string head;
  std::string body;
};

// Splits what a connection received into responses (Content-Length bodies
// only, which is all the test routes send); an incomplete tail is dropped.
std::vector<parsed_response> split_responses(std::string_view data) {
  std::vector<parsed_response> out;
  for (;;) {
    const auto head_end = data.find("\r\n\r\n");
    if (head_end == std::string_view::npos) return out;
    parsed_response r{std::string(data.substr(0, head_end + 4)), {}};
    const auto length_at = r.head.find("Content-Length: ");
    const std::size_t length = length_at == std::string::npos
                                   ? 0
                                   : std::stoul(r.head.substr(length_at + std::string_view("Content-Length: ").size()));
    if (data.size() < head_end + 4 + length) return out;
    r.body = std::string(data.substr(head_end + 4, length));
    out.push_back(std::move(r));
    data.remove_prefix(head_end + 4 + length);
  }
}

// "GET /n/first" ... "GET /n/last-1", each a complete request.
std::string numbered_requests(std::size_t first, std::size_t last) {
  std::string out;
  for (std::size_t i = first; i < last; ++i) out += "GET /n/" + std::to_string(i) + " HTTP/1.1\r\nHost: x\r\n\r\n";
  return out;
}

// Sends `requests` in one write on one connection, and reads what comes
// back until the server closes. Reading starts once `answered()` holds (at
// once without one), concurrently with the write, so neither side can stall
// the other. The client's receive window is small, as a slow reader's is:
// answers the server has written but the client not yet received then wait
// in the server's send queue, which a reset destroys.
asio::awaitable<received> pipeline(std::uint16_t port, std::string requests, std::function<bool()> answered = nullptr) {
  auto ex = co_await asio::this_coro::executor;
  tcp::socket socket(ex);
  socket.open(tcp::v4());
  socket.set_option(asio::socket_base::receive_buffer_size(4096));
  co_await socket.async_connect(loopback(port), asio::use_awaitable);
  auto write_all = [](tcp::socket& s, std::string bytes) -> asio::awaitable<void> {
    // A server that stops reading resets the connection: the read says so.
    auto [ec, n] = co_await asio::async_write(s, asio::buffer(bytes), asio::as_tuple(asio::use_awaitable));
    (void)ec, (void)n;
  };
  auto read_all = [](tcp::socket& s, std::function<bool()> ready) -> asio::awaitable<received> {
    if (ready) co_await eventually(std::move(ready));
    co_return co_await read_to_end(s);
  };
  auto [order, write_error, read_error, got] =
      co_await asio::experimental::make_parallel_group(
          asio::co_spawn(ex, write_all(socket, std::move(requests)), asio::deferred),
          asio::co_spawn(ex, read_all(socket, std::move(answered)), asio::deferred))
          .async_wait(asio::experimental::wait_for_all(), asio::deferred);
  (void)order;
  if (write_error) std::rethrow_exception(write_error);
  if (read_error) std::rethrow_exception(read_error);
  co_return got;
}

// GET /n/{i} answers i, then a line of padding: answers large enough to
// fill a slow reader's receive window.
router numbered_router() {
  router r;
  r.get("/n/{i}",
        [](request& req) { return response::text(200, std::string(*req.param("i")) + "\n" + std::string(2000, '.')); });
  return r;
}

// The number each answer carries, in the order the answers came.
std::vector<std::string> numbers_of(const std::vector<parsed_response>& responses) {
  std::vector<std::string> out;
  out.reserve(responses.size());
  for (const auto& r : responses) out.push_back(r.body.substr(0, r.body.find('\n')));
  return out;
}

std::vector<std::string> numbers(std::size_t first, std::size_t last) {
  std::vector<std::string> out;
  for (std::size_t i = first; i < last; ++i) out.push_back(std::to_string(i));
  return out;
}

}  // namespace

TEST_CASE("the server answers on an ephemeral port and reports it" * doctest::timeout(20)) {
  asio::io_context io;
  http_server server(io.get_executor(), hello_router());
  CHECK(server.port() == 0);
  REQUIRE_FALSE(server.start());
  CHECK(server.port() != 0);
  const auto reply = run_with_server(io, server, raw_exchange(server.port(), "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  CHECK(starts_with(reply, "HTTP/1.1 200 OK\r\n"));
  CHECK(reply.find("Server: cascadence\r\n") != std::string::npos);
  CHECK(reply.find("\r\n\r\nhello") != std::string::npos);
  CHECK(server.stats().responses.success == 1);
  CHECK(server.stats().routes.at(0).responses.success == 1);
}

TEST_CASE("binding a port that is taken is reported as an error value" * doctest::timeout(20)) {
  asio::io_context io;
  http_server first(io.get_executor(), hello_router());
  REQUIRE_FALSE(first.start());
  server_options o;
  o.port = first.port();
  http_server second(io.get_executor(), hello_router(), o);
  CHECK(second.start() == boost::asio::error::address_in_use);
  first.stop(0ms);
  second.stop(0ms);
  io.run();
}

TEST_CASE("several requests are served on one keep-alive connection, pipelined or not" * doctest::timeout(20)) {
  asio::io_context io;
  http_server server(io.get_executor(), hello_router());
  REQUIRE_FALSE(server.start());
  const auto port = server.port();
  const auto reply = run_with_server(io, server, [](std::uint16_t p) -> asio::awaitable<std::string> {
    auto socket = co_await connect_raw(p);
    std::string all;
    for (int i = 0; i < 3; ++i) {
      const std::string req = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
      co_await asio::async_write(socket, asio::buffer(req), asio::use_awaitable);
      all += co_await read_until_contains(socket, "hello");
    }
    // Two more in one write; the second asks to close.
    const std::string pipelined =
        "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc"
        "GET /hello HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    co_await asio::async_write(socket, asio::buffer(pipelined), asio::use_awaitable);
    all += co_await read_until_closed(socket);
    co_return all;
  }(port));
  CHECK(count_of(reply, "HTTP/1.1 200 OK") == 5);
  CHECK(reply.find("\r\n\r\nabc") != std::string::npos);
  CHECK(count_of(reply, "Connection: close") == 1);
  CHECK(server.stats().connections_accepted == 1);
}

TEST_CASE(
    "pipelined requests past the per-connection limit get exactly the limit's answers, in order, then a "
    "clean close" *
    doctest::timeout(30)) {
  asio::io_context io;
  server_options o;
  o.max_requests_per_connection = 5;
  http_server server(io.get_executor(), numbered_router(), o);
  REQUIRE_FALSE(server.start());
  // Far more than one read of the server's takes: most of it is still unread
  // in the kernel when the fifth answer is written.
  // The client reads once all five answers are written: most of them are
  // still in the server's send queue when it closes.
  const auto got = run_with_server(io, server, pipeline(server.port(), numbered_requests(0, 3000), [&server] {
                                     return server.stats().responses.total() == 5;
                                   }));
  const auto responses = split_responses(got.data);
  CHECK(numbers_of(responses) == numbers(0, 5));
  for (std::size_t i = 0; i < responses.size(); ++i) {
    CHECK(starts_with(responses[i].head, "HTTP/1.1 200 OK\r\n"));
    CHECK((responses[i].head.find("Connection: close") != std::string::npos) == (i == 4));
  }
  CHECK(got.end == asio::error::eof);  // FIN after the last answer, not RST
  CHECK(server.stats().limits.requests_per_connection == 1);
  CHECK(server.stats().responses.total() == 5);
}

TEST_CASE("1500 pipelined requests in one write get the default limit's 1000 answers and a clean close" *
          doctest::timeout(60)) {
  asio::io_context io;
  http_server server(io.get_executor(), numbered_router());
  REQUIRE_FALSE(server.start());
  const auto got = run_with_server(io, server, pipeline(server.port(), numbered_requests(0, 1500)));
  const auto responses = split_responses(got.data);
  CHECK(count_of(got.data, "HTTP/1.1 200 OK") == 1000);
  CHECK(numbers_of(responses) == numbers(0, 1000));
  REQUIRE_FALSE(responses.empty());
  CHECK(responses.back().head.find("Connection: close") != std::string::npos);
  CHECK(count_of(got.data, "Connection: close") == 1);
  CHECK(got.end == asio::error::eof);
}

TEST_CASE("requests pipelined behind one that asks to close are not answered, and the close is clean" *
          doctest::timeout(30)) {
  asio::io_context io;
  http_server server(io.get_executor(), numbered_router());
  REQUIRE_FALSE(server.start());
  const auto requests = numbered_requests(0, 3) + "GET /n/3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n" +
                        numbered_requests(4, 3000);
  const auto got = run_with_server(
      io, server, pipeline(server.port(), requests, [&server] { return server.stats().responses.total() == 4; }));
  const auto responses = split_responses(got.data);
  CHECK(numbers_of(responses) == numbers(0, 4));
  REQUIRE(responses.size() == 4);
  CHECK(responses[3].head.find("Connection: close") != std::string::npos);
  CHECK(got.end == asio::error::eof);
}

TEST_CASE("a header over the limit is answered 431 and the connection closed" * doctest::timeout(20)) {
  asio::io_context io;
  recording_observer obs;
  server_options o;
  o.observer = &obs;
  http_server server(io.get_executor(), hello_router(), o);
  REQUIRE_FALSE(server.start());
  const std::string big = "GET /hello HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(9000, 'a') + "\r\n\r\n";
  const auto reply = run_with_server(io, server, raw_exchange(server.port(), big));
  CHECK(starts_with(reply, "HTTP/1.1 431 "));
  CHECK(reply.find("Connection: close") != std::string::npos);
  CHECK(server.stats().limits.header_size == 1);
  REQUIRE(obs.limits.size() == 1);
  CHECK(obs.limits[0] == limit_kind::header_size);
}

TEST_CASE("a body over the limit is answered 413, declared or chunked" * doctest::timeout(20)) {
  asio::io_context io;
  server_options o;
  o.body_limit = 64;
  http_server server(io.get_executor(), hello_router(), o);
  REQUIRE_FALSE(server.start());
  const auto port = server.port();
  const auto replies = run_with_server(io, server, [](std::uint16_t p) -> asio::awaitable<std::vector<std::string>> {
    std::vector<std::string> out;
    out.push_back(co_await raw_exchange(p, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2000000\r\n\r\n"));
    out.push_back(co_await raw_exchange(p,
                                        "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                                        "64\r\n" +
                                            std::string(100, 'z') + "\r\n0\r\n\r\n"));
    out.push_back(co_await raw_exchange(
        p, "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 64\r\n\r\n" + std::string(64, 'k')));
    co_return out;
  }(port));
  CHECK(starts_with(replies.at(0), "HTTP/1.1 413 "));
  CHECK(starts_with(replies.at(1), "HTTP/1.1 413 "));
  CHECK(starts_with(replies.at(2), "HTTP/1.1 200 "));
  CHECK(server.stats().limits.body_size == 2);
}

TEST_CASE("Expect: 100-continue gets an interim response before the body is sent" * doctest::timeout(20)) {
  asio::io_context io;
  http_server server(io.get_executor(), hello_router());
  REQUIRE_FALSE(server.start());
  const auto port = server.port();
  const auto reply = run_with_server(io, server, [](std::uint16_t p) -> asio::awaitable<std::string> {
    auto socket = co_await connect_raw(p);
    const std::string head = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n";
    co_await asio::async_write(socket, asio::buffer(head), asio::use_awaitable);
    auto interim = co_await read_until_contains(socket, "\r\n\r\n");
    const std::string body = "ping";
    co_await asio::async_write(socket, asio::buffer(body), asio::use_awaitable);
    socket.shutdown(tcp::socket::shutdown_send);
    co_return interim + co_await read_until_closed(socket);
  }(port));
  CHECK(starts_with(reply, "HTTP/1.1 100 Continue\r\n"));
  CHECK(reply.find("HTTP/1.1 200 OK") != std::string::npos);
  CHECK(reply.find("\r\n\r\nping") != std::string::npos);
}

TEST_CASE("a client that does not finish its request in time is dropped" * doctest::timeout(30)) {
  asio::io_context io;
  server_options o;
  o.read_timeout = 200ms;
  http_server server(io.get_executor(), hello_router(), o);
  REQUIRE_FALSE(server.start());
  const auto port = server.port();

  struct outcome {
    std::string silent_reply;
    std::string trickle_reply;
    bool trickle_cut_off = false;
  };
  const auto got = run_with_server(io, server, [](std::uint16_t p) -> asio::awaitable<outcome> {
    outcome out;
    {  // Half a request, then silence.
      auto socket = co_await connect_raw(p);
      const std::string part = "GET /hello HTTP/1.1\r\nHost: x\r\n";
      co_await asio::async_write(socket, asio::buffer(part), asio::use_awaitable);
      out.silent_reply = co_await read_until_closed(socket);
    }
    {  // A byte at a time: every read is quick, the request as a whole is not.
      auto socket = co_await connect_raw(p);
      const std::string slow = "GET /hello HTTP/1.1\r\nHost: x\r\nX-Padding: " + std::string(200, 'p') + "\r\n\r\n";
      for (char c : slow) {
        auto [ec, n] = co_await asio::async_write(socket, asio::buffer(&c, 1), asio::as_tuple(asio::use_awaitable));
        if (ec) {
          out.trickle_cut_off = true;
          break;
        }
        co_await pause(20ms);
      }
      out.trickle_reply = co_await read_until_closed(socket);
    }
    co_return out;
  }(port));
  CHECK(got.silent_reply.empty());
  CHECK(got.trickle_cut_off);
  CHECK(got.trickle_reply.empty());
  CHECK(server.stats().limits.read_timeout == 2);
}

TEST_CASE("the read timeout bounds reading, not a handler that takes longer" * doctest::timeout(20)) {
  asio::io_context io;
  router r;
  r.get("/slow", [](request&) -> asio::awaitable<response> {
    co_await pause(400ms);
    co_return response::text(200, "slow but fine");
  });
  server_options o;
  o.read_timeout = 100ms;
  http_server server(io.get_executor(), std::move(r), o);
  REQUIRE_FALSE(server.start());
  const auto reply = run_with_server(io, server, raw_exchange(server.port(), "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n"));
  CHECK(starts_with(reply, "HTTP/1.1 200 OK\r\n"));
  CHECK(reply.find("slow but fine") != std::string::npos);
  CHECK(server.stats().limits.read_timeout == 0);
}

TEST_CASE("an idle keep-alive connection is closed quietly after its timeout" * doctest::timeout(20)) {
  asio::io_context io;
  server_options o;
  o.keep_alive_timeout = 150ms;
  http_server server(io.get_executor(), hello_router(), o);
  REQUIRE_FALSE(server.start());
  const auto port = server.port();
  const auto reply = run_with_server(io, server, [](std::uint16_t p) -> asio::awaitable<std::string> {
    auto socket = co_await connect_raw(p);
    std::string all;
    for (int i = 0; i < 2; ++i) {  // the deadline moves with each request
      const std::string req = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
      co_await asio::async_write(socket, asio::buffer(req), asio::use_awaitable);
      all += co_await read_until_contains(socket, "hello");
      co_await pause(100ms);
    }
    co_return all + co_await read_until_closed(socket);  // then nothing: closed after 150 ms
  }(port));
  CHECK(count_of(reply, "HTTP/1.1 200 OK") == 2);
  CHECK(server.stats().limits.read_timeout == 0);
}

TEST_CASE("a handler over its time limit is cancelled and answered 503" * doctest::timeout(20)) {
  asio::io_context io;
  bool cancelled = false;
  router r;
  r.get("/stuck", [&](request&) -> asio::awaitable<response> {
    try {
      co_await pause(std::chrono::hours(1));
    } catch (const boost::system::system_error&) {
      cancelled = true;
      throw;
    }
    co_return response::text(200, "never");
  });
  server_options o;
  o.handler_timeout = 100ms;
  http_server server(io.get_executor(), std::move(r), o);
  REQUIRE_FALSE(server.start());
  const auto reply = run_with_server(io, server, raw_exchange(server.port(), "GET /stuck HTTP/1.1\r\nHost: x\r\n\r\n"));
  CHECK(starts_with(reply, "HTTP/1.1 503 "));
  CHECK(cancelled);
  CHECK(server.stats().limits.handler_timeout == 1);
}

TEST_CASE("a throwing handler is answered 500, logged once and counted" * doctest::timeout(20)) {
  asio::io_context io;
  recording_observer obs;
  router r;
  r.get("/boom", [](request&) -> response { throw std::runtime_error("kaboom"); });
  r.get("/bad-header", [](request&) {
    auto res = response::text(200, "x");
    res.headers.set("X-Injected", "a\r\nSet-Cookie: evil=1");
    return res;
  });
  server_options o;
  o.observer = &obs;
  http_server server(io.get_executor(), std::move(r), o);
  REQUIRE_FALSE(server.start());
  const auto port = server.port();
  const auto replies = run_with_server(io, server, [](std::uint16_t p) -> asio::awaitable<std::vector<std::string>> {
    std::vector<std::string> out;
    out.push_back(co_await raw_exchange(p, "GET /boom HTTP/1.1\r\nHost: x\r\n\r\n"));
    out.push_back(co_await raw_exchange(p, "GET /bad-header HTTP/1.1\r\nHost: x\r\n\r\n"));
    co_return out;
  }(port));
  CHECK(starts_with(replies.at(0), "HTTP/1.1 500 "));
  CHECK(starts_with(replies.at(1), "HTTP/1.1 500 "));
  CHECK(replies.at(1).find("evil") == std::string::npos);
  CHECK(server.stats().handler_errors == 2);
  REQUIRE(obs.errors.size() == 2);
  CHECK(obs.errors[0].find("kaboom") != std::string::npos);
}

TEST_CASE("HEAD gets the GET route's headers without a body" * doctest::timeout(20)) {
  asio::io_context io;
  http_server server(io.get_executor(), hello_router());
  REQUIRE_FALSE(server.start());
  const auto reply =
      run_with_server(io, server, raw_exchange(server.port(), "HEAD /hello HTTP/1.1\r\nHost: x\r\n\r\n"));
  CHECK(starts_with(reply, "HTTP/1.1 200 OK\r\n"));
  CHECK(reply.find("Content-Length: 5\r\n") != std::string::npos);
  CHECK(reply.substr(reply.size() - 4) == "\r\n\r\n");
}

TEST_CASE("at max_connections with every connection busy, a new connection is accepted and closed at once" *
          doctest::timeout(20)) {
  asio::io_context io;
  asio::steady_timer gate(io, asio::steady_timer::time_point::max());
  bool waiting = false;
  router r = hello_router();
  r.get("/wait", [&](request&) -> asio::awaitable<response> {
    waiting = true;
    auto [ec] = co_await gate.async_wait(asio::as_tuple(asio::use_awaitable));
    (void)ec;  // cancelled by the test: the signal to answer
    co_return response::text(200, "released");
  });
  server_options o;
  o.max_connections = 1;
  http_server server(io.get_executor(), std::move(r), o);
  REQUIRE_FALSE(server.start());
  struct outcome {
    std::string held_reply;
    std::string rejected_reply;
    std::string later_reply;
  };
  auto test = [](http_server& srv, asio::steady_timer& g, bool& in_handler) -> asio::awaitable<outcome> {
    outcome out;
    const auto port = srv.port();
    {
      auto held = co_await connect_raw(port);
      const std::string req = "GET /wait HTTP/1.1\r\nHost: x\r\n\r\n";
      co_await asio::async_write(held, asio::buffer(req), asio::use_awaitable);
      co_await eventually([&] { return in_handler; });
      auto rejected = co_await connect_raw(port);
      out.rejected_reply = co_await read_until_closed(rejected);
      g.cancel();
      out.held_reply = co_await read_until_contains(held, "released");
    }
    co_await eventually([&] { return srv.stats().connections_active == 0; });
    out.later_reply = co_await raw_exchange(port, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    co_return out;
  };
  const auto got = run_with_server(io, server, test(server, gate, waiting));
  CHECK(got.held_reply.find("200 OK") != std::string::npos);
  CHECK(got.rejected_reply.empty());
  CHECK(starts_with(got.later_reply, "HTTP/1.1 200 OK"));
  CHECK(server.stats().limits.connections == 1);
  CHECK(server.stats().connections_accepted == 2);
  CHECK(server.stats().connections_shed.total() == 0);
}

TEST_CASE("at max_connections the connection that has waited longest for a request makes room for a new one" *
          doctest::timeout(30)) {
  asio::io_context io;
  recording_observer obs;
  server_options o;
  o.max_connections = 3;
  o.max_connections_per_client = 0;
  // Longer than the test runs: a connection wrongly left open is not closed
  // by a timeout, and one wrongly shed shows as a failed request.
  o.read_timeout = 60s;
  o.keep_alive_timeout = 60s;
  o.observer = &obs;
  http_server server(io.get_executor(), hello_router(), o);
  REQUIRE_FALSE(server.start());
  struct outcome {
    std::string silent;   // connected, never sent a byte: shed first
    std::string partial;  // half a request head: shed second
    std::string kept;     // served once, then idle: shed third
    std::vector<std::string> newcomers;
  };
  auto test = [](http_server& srv) -> asio::awaitable<outcome> {
    outcome out;
    const auto port = srv.port();
    const auto waiting = [&srv](std::uint64_t idle, std::uint64_t incomplete) {
      return [&srv, idle, incomplete] {
        const auto w = srv.stats().connections_waiting;
        return w.idle == idle && w.incomplete_request == incomplete;
      };
    };

    auto silent = co_await connect_raw(port);
    co_await eventually(waiting(1, 0));
    auto partial = co_await connect_raw(port);
    const std::string half = "GET /hello HTTP/1.1\r\nHost: x\r\n";
    co_await asio::async_write(partial, asio::buffer(half), asio::use_awaitable);
    co_await eventually(waiting(1, 1));
    auto kept = co_await connect_raw(port);
    out.newcomers.push_back(co_await hello_on(kept));
    co_await eventually(waiting(2, 1));

    // Three open: each newcomer takes the place of the one waiting longest,
    // and is served, keeping its connection.
    auto first = co_await connect_raw(port);
    out.newcomers.push_back(co_await hello_on(first));
    if (!starts_with(out.newcomers.back(), "HTTP/1.1 200 OK")) co_return out;  // refused: nobody was shed
    out.silent = co_await read_until_closed(silent);
    auto second = co_await connect_raw(port);
    out.newcomers.push_back(co_await hello_on(second));
    if (!starts_with(out.newcomers.back(), "HTTP/1.1 200 OK")) co_return out;  // refused: nobody was shed
    out.partial = co_await read_until_closed(partial);
    auto third = co_await connect_raw(port);
    out.newcomers.push_back(co_await hello_on(third));
    if (!starts_with(out.newcomers.back(), "HTTP/1.1 200 OK")) co_return out;  // refused: nobody was shed
    out.kept = co_await read_until_closed(kept);
    // The newcomers were not shed in their place.
    out.newcomers.push_back(co_await hello_on(first));
    out.newcomers.push_back(co_await hello_on(second));
    co_return out;
  };
  const auto got = run_with_server(io, server, test(server));
  CHECK(got.silent.empty());
  CHECK(got.partial.empty());
  CHECK(got.kept.empty());
  REQUIRE(got.newcomers.size() == 6);
  for (const auto& reply : got.newcomers) CHECK(starts_with(reply, "HTTP/1.1 200 OK"));
  const auto stats = server.stats();
  CHECK(stats.connections_shed.idle == 2);
  CHECK(stats.connections_shed.incomplete_request == 1);
  CHECK(stats.limits.connections == 0);
  CHECK(stats.connections_accepted == 6);
  CHECK(stats.limits.read_timeout == 0);
  CHECK(obs.sheds == std::vector<shed_reason>{shed_reason::idle, shed_reason::incomplete_request, shed_reason::idle});
}

TEST_CASE("connections from one address beyond max_connections_per_client are refused, other addresses served" *
          doctest::timeout(30)) {
  asio::io_context io;
  recording_observer obs;
  server_options o;
  o.max_connections_per_client = 2;
  o.observer = &obs;
  http_server server(io.get_executor(), hello_router(), o);
  REQUIRE_FALSE(server.start());
  struct outcome {
    std::string refused;
    std::string other_address;
    std::string after_one_left;
  };
  auto test = [](http_server& srv) -> asio::awaitable<outcome> {
    outcome out;
    const auto port = srv.port();
    auto a1 = co_await connect_raw(port);
    auto a2 = co_await connect_raw(port);
    co_await eventually([&] { return srv.stats().connections_accepted == 2; });
    {
      auto a3 = co_await connect_raw(port);
      out.refused = co_await hello_on(a3);  // closed at once: no answer
    }
    CHECK(srv.stats().limits.connections_per_client == 1);
    auto b1 = co_await connect_from("127.0.0.2", port);
    out.other_address = co_await hello_on(b1);
    a1.close();
    co_await eventually([&] { return srv.stats().connections_active == 2; });  // a2 and b1
    auto a4 = co_await connect_raw(port);
    out.after_one_left = co_await hello_on(a4);
    co_return out;
  };
  const auto got = run_with_server(io, server, test(server));
  CHECK(got.refused.empty());
  CHECK(starts_with(got.other_address, "HTTP/1.1 200 OK"));
  CHECK(starts_with(got.after_one_left, "HTTP/1.1 200 OK"));
  const auto stats = server.stats();
  CHECK(stats.limits.connections_per_client == 1);
  CHECK(stats.connections_accepted == 4);
  CHECK(stats.connections_shed.total() == 0);
  CHECK(obs.limits == std::vector<limit_kind>{limit_kind::connections_per_client});
}

TEST_CASE("stop() lets a request in flight finish, closes idle connections and refuses new ones" *
          doctest::timeout(30)) {
  asio::io_context io;
  bool slow_started = false;
  router r = hello_router();
  r.get("/slow", [&](request&) -> asio::awaitable<response> {
    slow_started = true;
    co_await pause(300ms);
    co_return response::text(200, "finished");
  });
  http_server server(io.get_executor(), std::move(r));
  REQUIRE_FALSE(server.start());
  const auto port = server.port();

  struct outcome {
    std::string slow_reply;
    std::string idle_after_stop;
    bool refused = false;
  };
  auto test = [](http_server& srv, std::uint16_t p, bool& started) -> asio::awaitable<outcome> {
    outcome out;
    auto idle = co_await connect_raw(p);
    const std::string req = "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n";
    co_await asio::async_write(idle, asio::buffer(req), asio::use_awaitable);
    (void)co_await read_until_contains(idle, "hello");

    auto busy = co_await connect_raw(p);
    const std::string slow = "GET /slow HTTP/1.1\r\nHost: x\r\n\r\n";
    co_await asio::async_write(busy, asio::buffer(slow), asio::use_awaitable);
    co_await eventually([&] { return started; });

    srv.stop(10s);
    out.idle_after_stop = co_await read_until_closed(idle);
    out.slow_reply = co_await read_until_closed(busy);
    co_await srv.wait_stopped();

    tcp::socket late(co_await asio::this_coro::executor);
    auto [ec] = co_await late.async_connect(loopback(p), asio::as_tuple(asio::use_awaitable));
    out.refused = static_cast<bool>(ec);
    co_return out;
  };
  const auto got = run_with_server(io, server, test(server, port, slow_started));
  CHECK(got.idle_after_stop.empty());
  CHECK(starts_with(got.slow_reply, "HTTP/1.1 200 OK"));
  CHECK(got.slow_reply.find("Connection: close") != std::string::npos);
  CHECK(got.slow_reply.find("finished") != std::string::npos);
  CHECK(got.refused);
  CHECK(server.stats().forced_closes == 0);
  CHECK(server.stats().connections_active == 0);
}

TEST_CASE("stop() force-closes what is still running when the grace period ends" * doctest::timeout(30)) {
  asio::io_context io;
  bool started = false;
  bool cancelled = false;
  router r;
  r.get("/forever", [&](request&) -> asio::awaitable<response> {
    started = true;
    try {
      co_await pause(std::chrono::hours(1));
    } catch (const boost::system::system_error&) {
      cancelled = true;
      throw;
    }
    co_return response::text(200, "never");
  });
  http_server server(io.get_executor(), std::move(r));
  REQUIRE_FALSE(server.start());
  const auto port = server.port();
  auto test = [](http_server& srv, std::uint16_t p, bool& flag) -> asio::awaitable<std::string> {
    auto socket = co_await connect_raw(p);
    const std::string req = "GET /forever HTTP/1.1\r\nHost: x\r\n\r\n";
    co_await asio::async_write(socket, asio::buffer(req), asio::use_awaitable);
    co_await eventually([&] { return flag; });
    srv.stop(100ms);
    co_await srv.wait_stopped();
    co_return co_await read_until_closed(socket);
  };
  const auto reply = run_with_server(io, server, test(server, port, started));
  CHECK(reply.empty());
  CHECK(cancelled);
  CHECK(server.stats().forced_closes == 1);
  CHECK(server.stats().connections_active == 0);
}

TEST_CASE("the server keeps answering after 1000 malformed requests of assorted kinds" * doctest::timeout(60)) {
  asio::io_context io;
  recording_observer obs;
  server_options o;
  o.read_timeout = 2s;
  o.body_limit = 1024;
  o.observer = &obs;
  http_server server(io.get_executor(), hello_router(), o);
  REQUIRE_FALSE(server.start());

  struct malformed {
    std::string bytes;
    std::string expected;  // status line prefix, or empty for "closed without answer"
  };
  const std::vector<malformed> kinds = {
      {"GARBAGE\r\n\r\n", "HTTP/1.1 400 "},
      {"GET\r\n\r\n", "HTTP/1.1 400 "},
      {"GET /hello HTTX/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 400 "},
      {"GET /hello HTTP/2.0\r\nHost: x\r\n\r\n", "HTTP/1.1 400 "},
      {"GET /hello HTTP/1.2\r\nHost: x\r\n\r\n", "HTTP/1.1 400 "},
      {"GET /hello HTTP/1.1\r\nHost x\r\n\r\n", "HTTP/1.1 400 "},
      {"GET /hello HTTP/1.1\r\nBad Name: x\r\n\r\n", "HTTP/1.1 400 "},
      {"GET /hello HTTP/1.1\nHost: x\n\n", "HTTP/1.1 400 "},
      {"POST /echo HTTP/1.1\r\nContent-Length: -1\r\n\r\n", "HTTP/1.1 400 "},
      {"POST /echo HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", "HTTP/1.1 400 "},
      {"POST /echo HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "HTTP/1.1 400 "},
      {"POST /echo HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", "HTTP/1.1 400 "},
      {std::string("\x00\x01\x02\xff\xfe binary\r\n\r\n", 17), "HTTP/1.1 400 "},
      {"GET /%zz HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 400 "},
      {"GET http://[::1 HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 400 "},
      {"GET /" + std::string(10000, 'a') + " HTTP/1.1\r\n\r\n", "HTTP/1.1 431 "},
      {"POST /echo HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n", "HTTP/1.1 413 "},
      {"BREW /hello HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 501 "},
      {"GET /hel", ""},
      {"", ""},
  };

  const auto port = server.port();
  struct outcome {
    std::vector<std::string> mismatches;
    std::string final_reply;
  };
  auto test = [](http_server& srv, std::uint16_t p, const std::vector<malformed>& ks) -> asio::awaitable<outcome> {
    outcome out;
    for (int i = 0; i < 1000; ++i) {
      const auto& k = ks[static_cast<std::size_t>(i) % ks.size()];
      const auto reply = co_await raw_exchange(p, k.bytes);
      const bool ok = k.expected.empty() ? reply.empty() : starts_with(reply, k.expected);
      if (!ok && out.mismatches.size() < 5) {
        out.mismatches.push_back("kind " + std::to_string(static_cast<std::size_t>(i) % ks.size()) + ": " +
                                 reply.substr(0, 40));
      }
    }
    out.final_reply = co_await raw_exchange(p, "GET /hello HTTP/1.1\r\nHost: x\r\n\r\n");
    co_await eventually([&] { return srv.stats().connections_active == 0; });
    co_return out;
  };
  const auto got = run_with_server(io, server, test(server, port, kinds));
  for (const auto& m : got.mismatches) CHECK_MESSAGE(false, m);
  CHECK(starts_with(got.final_reply, "HTTP/1.1 200 OK"));
  const auto stats = server.stats();
  CHECK(stats.connections_accepted == 1001);
  CHECK(stats.session_errors == 0);
  CHECK(stats.handler_errors == 0);
  CHECK(stats.malformed_requests > 600);
  CHECK(obs.errors.empty());
}

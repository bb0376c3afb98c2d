#pragma once

// Helpers shared by the net tests: raw sockets on 127.0.0.1 (for bytes no
// well-behaved client would send) and running a test body against a started
// server that is always stopped afterwards, so a failed check never leaves
// the io_context running forever.

#include "net/http_server.hpp"
#include "net/router.hpp"
#include "tests/support/run_async.hpp"

#include <doctest/doctest.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <optional>
#include <string>

namespace cascadence::test {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

inline tcp::endpoint loopback(std::uint16_t port) {
  return {asio::ip::make_address("127.0.0.1"), port};
}

/// Reads until the peer closes (or resets) the connection.
inline asio::awaitable<std::string> read_until_closed(tcp::socket& socket) {
  std::string out;
  std::array<char, 4096> buf{};
  for (;;) {
    auto [ec, n] = co_await socket.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
    out.append(buf.data(), n);
    if (ec) co_return out;
  }
}

/// Everything a connection received until it ended, and how it ended:
/// asio::error::eof is a clean close (FIN), connection_reset a reset (RST),
/// which may have destroyed data the kernel had received but not yet
/// handed over.
struct received final {
  std::string data;
  boost::system::error_code end;
};

/// Reads until the peer closes (or resets) the connection, and says which.
inline asio::awaitable<received> read_to_end(tcp::socket& socket) {
  received out;
  std::array<char, 4096> buf{};
  for (;;) {
    auto [ec, n] = co_await socket.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
    out.data.append(buf.data(), n);
    if (ec) {
      out.end = ec;
      co_return out;
    }
  }
}

/// Reads until `marker` has arrived (or the peer closed).
inline asio::awaitable<std::string> read_until_contains(tcp::socket& socket, std::string_view marker) {
  std::string out;
  std::array<char, 4096> buf{};
  while (out.find(marker) == std::string::npos) {
    auto [ec, n] = co_await socket.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
    out.append(buf.data(), n);
    if (ec) break;
  }
  co_return out;
}

/// Opens a connection to 127.0.0.1:port.
inline asio::awaitable<tcp::socket> connect_raw(std::uint16_t port) {
  tcp::socket socket(co_await asio::this_coro::executor);
  co_await socket.async_connect(loopback(port), asio::use_awaitable);
  co_return socket;
}

/// Connects, writes `bytes`, half-closes, and returns everything the server
/// sent until it closed. Write errors are ignored: the answer is what counts.
inline asio::awaitable<std::string> raw_exchange(std::uint16_t port, std::string bytes) {
  auto socket = co_await connect_raw(port);
  if (!bytes.empty()) {
    auto [ec, n] = co_await asio::async_write(socket, asio::buffer(bytes), asio::as_tuple(asio::use_awaitable));
    (void)ec, (void)n;
  }
  boost::system::error_code ignored;
  socket.shutdown(tcp::socket::shutdown_send, ignored);
  co_return co_await read_until_closed(socket);
}

/// Sleeps on the current executor.
inline asio::awaitable<void> pause(std::chrono::milliseconds d) {
  asio::steady_timer timer(co_await asio::this_coro::executor, d);
  co_await timer.async_wait(asio::use_awaitable);
}

/// Polls `condition` every few milliseconds until it holds (the doctest
/// timeout of the calling case bounds the wait).
inline asio::awaitable<void> eventually(std::function<bool()> condition) {
  while (!condition()) co_await pause(std::chrono::milliseconds(5));
}

/// Runs `body` while `server` serves on `io`, then stops the server and
/// waits for it, whether or not `body` threw.
template <typename T>
T run_with_server(asio::io_context& io, net::http_server& server, asio::awaitable<T> body) {
  auto wrapped = [](net::http_server& s, asio::awaitable<T> b) -> asio::awaitable<T> {
    std::exception_ptr error;
    std::optional<T> value;
    try {
      value.emplace(co_await std::move(b));
    } catch (...) {
      error = std::current_exception();
    }
    s.stop(std::chrono::milliseconds(0));
    co_await s.wait_stopped();
    if (error) std::rethrow_exception(error);
    co_return std::move(*value);
  };
  return run_async(io, wrapped(server, std::move(body)));
}

/// Routes a test writes, served on a free loopback port once start() is
/// called; run() runs a body against them and stops the server after it.
struct route_server {
  asio::io_context io;
  net::router routes;
  std::optional<net::http_server> server;

  void start() {
    server.emplace(io.get_executor(), std::move(routes));
    REQUIRE_FALSE(server->start());
  }
  template <typename T>
  T run(asio::awaitable<T> body) {
    return run_with_server(io, *server, std::move(body));
  }
};

}  // namespace cascadence::test

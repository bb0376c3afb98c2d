// The HTTP baseline: the least a Beast coroutine server does to answer a
// webhook POST on one thread. A session owns its stream and one flat buffer
// reserved up front (without it a 1 KiB body arrives in several reads and
// the baseline is needlessly weak), reads each request whole into a string
// body and answers 202 with a fixed JSON body. Like Beast's own awaitable
// example it bounds each request with a stream timeout; it checks no
// signature, parses no JSON, routes nothing and delivers nothing.

#include "bench/http/serve.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <iostream>

namespace cascadence::bench {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
// Room for a request line, headers and a 1 KiB body with plenty to spare.
constexpr std::size_t reserved_buffer = 16 * 1024;
constexpr std::chrono::seconds request_timeout{30};

struct counters final {
  std::uint64_t connections = 0;
  std::uint64_t responses = 0;
};

asio::awaitable<void> session(beast::tcp_stream stream, counters& count) {
  beast::flat_buffer buffer;
  buffer.reserve(reserved_buffer);
  for (;;) {
    http::request<http::string_body> req;
    stream.expires_after(request_timeout);
    auto [read_ec, read_n] = co_await http::async_read(stream, buffer, req, use_tuple);
    if (read_ec) break;  // the peer closed, timed out or sent garbage
    http::response<http::string_body> res{http::status::accepted, req.version()};
    res.set(http::field::server, "beast-baseline");
    res.set(http::field::content_type, "application/json");
    res.keep_alive(req.keep_alive());
    res.body() = R"({"status":"received"})";
    res.prepare_payload();
    auto [write_ec, write_n] = co_await http::async_write(stream, res, use_tuple);
    if (write_ec) break;
    ++count.responses;
    if (!res.keep_alive()) break;
  }
  boost::system::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
}

asio::awaitable<void> accept_loop(tcp::acceptor& acceptor, counters& count) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(use_tuple);
    if (ec == asio::error::operation_aborted) co_return;
    if (ec) continue;
    boost::system::error_code ignored;
    socket.set_option(tcp::no_delay(true), ignored);  // as net::http_server does
    ++count.connections;
    asio::co_spawn(acceptor.get_executor(), session(beast::tcp_stream(std::move(socket)), count), asio::detached);
  }
}

}  // namespace

int serve_http_baseline(const serve_config& config) {
  asio::io_context io{1};
  tcp::acceptor acceptor(io, {asio::ip::make_address(config.host), config.port});
  std::cout << "listening on http://" << config.host << ':' << acceptor.local_endpoint().port() << std::endl;
  counters count;
  asio::co_spawn(io, accept_loop(acceptor, count), asio::detached);
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code, int) { io.stop(); });
  io.run();
  std::cout << R"({"server":"http-baseline","connections":)" << count.connections << R"(,"responses":)"
            << count.responses << R"(,"responses_2xx":)" << count.responses << '}' << std::endl;
  return 0;
}

}  // namespace cascadence::bench

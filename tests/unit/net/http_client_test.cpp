#include "net/http_client.hpp"
#include "net/http_server.hpp"
#include "net/json.hpp"
#include "tests/unit/net/net_test_support.hpp"

#include <doctest/doctest.h>
#include <boost/asio/detached.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <string>

using namespace cascadence::net;
using namespace cascadence::test;
using namespace std::chrono_literals;

namespace {

std::string url(const http_server& s, std::string_view path) {
  return "http://127.0.0.1:" + std::to_string(s.port()) + std::string(path);
}

// Fast retries for tests; the defaults are 0.5 s, 1 s.
client_options quick_retries() {
  client_options o;
  o.backoff = 10ms;
  return o;
}

// A port with nothing listening: bound once, then released.
std::uint16_t closed_port(asio::io_context& io) {
  tcp::acceptor a(io, loopback(0));
  const auto port = a.local_endpoint().port();
  a.close();
  return port;
}

// Accepts one connection, reads everything, never answers; ends when the
// client gives up and closes.
asio::awaitable<void> accept_and_never_answer(tcp::acceptor& acceptor, int& accepted) {
  auto socket = co_await acceptor.async_accept(asio::use_awaitable);
  ++accepted;
  acceptor.close();
  (void)co_await read_until_closed(socket);
}

}  // namespace

TEST_CASE("a 503 is retried until the server succeeds" * doctest::timeout(20)) {
  asio::io_context io;
  int calls = 0;
  router r;
  r.get("/flaky", [&](request&) { return ++calls < 3 ? response::text(503, "busy") : response::text(200, "ok"); });
  http_server server(io.get_executor(), std::move(r));
  REQUIRE_FALSE(server.start());
  http_client client(io.get_executor(), quick_retries());
  auto res = run_with_server(io, server, client.get(url(server, "/flaky")));
  REQUIRE(res.has_value());
  CHECK(res->status == 200);
  CHECK(res->body == "ok");
  CHECK(res->attempts == 3);
  CHECK(calls == 3);
  CHECK(client.stats().retries == 2);
}

TEST_CASE("a 400 is not retried" * doctest::timeout(20)) {
  asio::io_context io;
  int calls = 0;
  router r;
  r.post("/strict", [&](request&) {
    ++calls;
    return response::text(400, "no");
  });
  http_server server(io.get_executor(), std::move(r));
  REQUIRE_FALSE(server.start());
  http_client client(io.get_executor(), quick_retries());
  auto res = run_with_server(io, server, client.post(url(server, "/strict"), "{}", "application/json"));
  REQUIRE(res.has_value());
  CHECK(res->status == 400);
  CHECK(res->attempts == 1);
  CHECK(calls == 1);
}

TEST_CASE("after the last attempt the last 5xx response is returned" * doctest::timeout(20)) {
  asio::io_context io;
  int calls = 0;
  router r;
  r.get("/down", [&](request&) {
    ++calls;
    return response::text(502, "down");
  });
  http_server server(io.get_executor(), std::move(r));
  REQUIRE_FALSE(server.start());
  http_client client(io.get_executor(), quick_retries());
  auto res = run_with_server(io, server, client.get(url(server, "/down")));
  REQUIRE(res.has_value());
  CHECK(res->status == 502);
  CHECK(res->attempts == 3);
  CHECK(calls == 3);
}

TEST_CASE("a refused connection is retried, then reported" * doctest::timeout(20)) {
  asio::io_context io;
  const auto port = closed_port(io);
  http_client client(io.get_executor(), quick_retries());
  auto res = run_async(io, client.get("http://127.0.0.1:" + std::to_string(port) + "/"));
  REQUIRE_FALSE(res.has_value());
  CHECK(res.error().code == client_errc::connect_failed);
  CHECK(res.error().attempts == 3);
  CHECK(res.error().message.find("127.0.0.1") != std::string::npos);
}

TEST_CASE("the request timeout is honoured against a server that never answers" * doctest::timeout(20)) {
  asio::io_context io;
  tcp::acceptor acceptor(io, loopback(0));
  const auto port = acceptor.local_endpoint().port();
  int accepted = 0;
  asio::co_spawn(io, accept_and_never_answer(acceptor, accepted), asio::detached);

  client_options o = quick_retries();
  o.request_timeout = 200ms;
  http_client client(io.get_executor(), o);
  auto res = run_async(io, client.get("http://127.0.0.1:" + std::to_string(port) + "/silent"));
  REQUIRE_FALSE(res.has_value());
  CHECK(res.error().code == client_errc::timeout);
  CHECK(res.error().attempts == 1);
  CHECK(accepted == 1);
}

TEST_CASE("keep-alive connections are reused for the same host" * doctest::timeout(20)) {
  asio::io_context io;
  router r;
  r.get("/n/{i}", [](request& req) { return response::text(200, std::string(*req.param("i"))); });
  http_server server(io.get_executor(), std::move(r));
  REQUIRE_FALSE(server.start());
  http_client client(io.get_executor());
  auto bodies = run_with_server(io, server, [](http_client& c, std::string base) -> asio::awaitable<std::string> {
    std::string all;
    for (int i = 0; i < 5; ++i) {
      auto res = co_await c.get(base + std::to_string(i));
      all += res ? res->body : "!";
    }
    co_return all;
  }(client, url(server, "/n/")));
  CHECK(bodies == "01234");
  CHECK(client.stats().connections_opened == 1);
  CHECK(client.stats().connections_reused == 4);
  CHECK(server.stats().connections_accepted == 1);
}

TEST_CASE("a pooled connection the server closed is replaced without costing an attempt" * doctest::timeout(20)) {
  asio::io_context io;
  server_options so;
  so.keep_alive_timeout = 50ms;
  http_server server(
      io.get_executor(),
      [] {
        router r;
        r.get("/x", [](request&) { return response::text(200, "x"); });
        return r;
      }(),
      so);
  REQUIRE_FALSE(server.start());
  client_options co;
  co.max_attempts = 1;
  http_client client(io.get_executor(), co);
  auto second = run_with_server(io, server, [](http_client& c, std::string u) -> asio::awaitable<client_result> {
    auto first = co_await c.get(u);
    REQUIRE(first.has_value());
    co_await pause(300ms);  // the server's keep-alive timeout closes the idle connection
    co_return co_await c.get(u);
  }(client, url(server, "/x")));
  REQUIRE(second.has_value());
  CHECK(second->status == 200);
  CHECK(second->attempts == 1);
  CHECK(client.stats().connections_opened == 2);
}

TEST_CASE("URLs the client cannot use are reported without any attempt" * doctest::timeout(10)) {
  asio::io_context io;
  http_client client(io.get_executor());
  auto bad = run_async(io, client.get("not a url"));
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().code == client_errc::invalid_url);
  CHECK(bad.error().attempts == 0);
  auto ftp = run_async(io, client.get("ftp://example.com/file"));
  REQUIRE_FALSE(ftp.has_value());
  CHECK(ftp.error().code == client_errc::unsupported_scheme);
  client_request injected;
  injected.url = "http://127.0.0.1:1/";
  injected.headers.set("X-Evil", "a\r\nHost: other");
  auto inj = run_async(io, client.send(injected));
  REQUIRE_FALSE(inj.has_value());
  CHECK(inj.error().code == client_errc::invalid_request);
}

TEST_CASE("JSON goes out and comes back through the client and the server" * doctest::timeout(20)) {
  asio::io_context io;
  router r;
  r.post("/api/v1/echo", [](request& req) {
    auto parsed = parse_json(req.body);
    if (!parsed) return json_response(400, boost::json::object{{"error", parsed.error()}});
    return json_response(200, boost::json::object{{"got", parsed.value()}, {"type", *req.header("content-type")}});
  });
  http_server server(io.get_executor(), std::move(r));
  REQUIRE_FALSE(server.start());
  http_client client(io.get_executor());
  struct outcome {
    result<boost::json::value, client_error> good;
    result<boost::json::value, client_error> bad;
  };
  auto got = run_with_server(io, server, [](http_client& c, std::string u) -> asio::awaitable<outcome> {
    // Built outside the co_await: GCC 12 cannot keep a braced JSON literal
    // alive across a suspension ("array used as initializer").
    boost::json::object payload;
    payload["n"] = 1;
    auto good = co_await fetch_json(c, json_request(http_method::post, u, payload));
    client_request broken;
    broken.method = http_method::post;
    broken.url = u;
    broken.body = "{not json";
    auto bad = co_await fetch_json(c, std::move(broken));
    co_return outcome{std::move(good), std::move(bad)};
  }(client, url(server, "/api/v1/echo")));
  REQUIRE(got.good.has_value());
  CHECK(got.good->at("got").at("n").as_int64() == 1);
  CHECK(got.good->at("type").as_string() == "application/json");
  REQUIRE_FALSE(got.bad.has_value());
  CHECK(got.bad.error().code == client_errc::http_status);
  CHECK(got.bad.error().status == 400);
}

TEST_CASE("parse_json reports invalid input as an error value" * doctest::timeout(10)) {
  CHECK(parse_json(R"({"a":[1,2]})").has_value());
  auto bad = parse_json("{\"a\":");
  REQUIRE_FALSE(bad.has_value());
  CHECK(bad.error().find("invalid JSON") != std::string::npos);
}

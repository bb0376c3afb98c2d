#include "net/router.hpp"
#include "tests/support/run_async.hpp"

#include <doctest/doctest.h>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <stdexcept>
#include <string>

using namespace cascadence::net;
namespace asio = boost::asio;
using cascadence::test::run_async;

namespace {

request make_request(http_method m, std::string_view target) {
  auto req = request::from_target(m, target);
  REQUIRE(req.has_value());
  return std::move(*req);
}

// Runs the socket-free layer on one request.
response handle(const router& r, request& req) {
  return run_async(r.handle(req));
}

response handle(const router& r, http_method m, std::string_view target) {
  auto req = make_request(m, target);
  return handle(r, req);
}

response echo_route(request& req) {
  return response::text(200, req.route != nullptr ? req.route->pattern : "");
}

}  // namespace

TEST_CASE("a literal segment wins over a parameter at the same position" * doctest::timeout(10)) {
  router r;
  r.post("/webhook/{source}", echo_route);
  r.post("/webhook/github", echo_route);
  CHECK(handle(r, http_method::post, "/webhook/github").body == "/webhook/github");
  CHECK(handle(r, http_method::post, "/webhook/calcom").body == "/webhook/{source}");
}

TEST_CASE("path parameters are captured percent-decoded" * doctest::timeout(10)) {
  router r;
  r.get("/api/v1/runs/{id}/tasks/{task}", [](request& req) {
    return response::text(200, std::string(*req.param("id")) + "|" + std::string(*req.param("task")));
  });
  CHECK(handle(r, http_method::get, "/api/v1/runs/42/tasks/build%20all").body == "42|build all");
  // An encoded slash stays inside its segment.
  CHECK(handle(r, http_method::get, "/api/v1/runs/a%2Fb/tasks/t").body == "a/b|t");
}

TEST_CASE("an unknown path is answered 404" * doctest::timeout(10)) {
  router r;
  r.get("/healthz", echo_route);
  const auto res = handle(r, http_method::get, "/nope");
  CHECK(res.status == 404);
  CHECK(handle(r, http_method::get, "/healthz/extra").status == 404);
}

TEST_CASE("a known path with another method is answered 405 with an Allow header" * doctest::timeout(10)) {
  router r;
  r.get("/api/v1/runs/{id}", echo_route);
  r.del("/api/v1/runs/{id}", echo_route);
  const auto res = handle(r, http_method::post, "/api/v1/runs/7");
  CHECK(res.status == 405);
  CHECK(res.headers.get("allow") == "GET, HEAD, DELETE");
}

TEST_CASE("HEAD is served by the GET route of the same path" * doctest::timeout(10)) {
  router r;
  r.get("/metrics", [](request&) { return response::text(200, "a 1\n"); });
  const auto res = handle(r, http_method::head, "/metrics");
  CHECK(res.status == 200);
  CHECK(res.body == "a 1\n");  // the session strips it, keeping Content-Length
}

TEST_CASE("a trailing slash is significant and a parameter never matches an empty segment" * doctest::timeout(10)) {
  router r;
  r.get("/runs", echo_route);
  r.get("/runs/{id}", echo_route);
  CHECK(handle(r, http_method::get, "/runs").status == 200);
  CHECK(handle(r, http_method::get, "/runs/").status == 404);
  CHECK(handle(r, http_method::get, "/").status == 404);
}

TEST_CASE("the root pattern matches only the root path" * doctest::timeout(10)) {
  router r;
  r.get("/", echo_route);
  CHECK(handle(r, http_method::get, "/").body == "/");
  CHECK(handle(r, http_method::get, "/?x=1").body == "/");
  CHECK(handle(r, http_method::get, "/x").status == 404);
}

TEST_CASE("an undecodable path is answered 400" * doctest::timeout(10)) {
  router r;
  r.get("/{x}", echo_route);
  request req;
  req.path = "/%zz";
  CHECK(handle(r, req).status == 400);
}

TEST_CASE("asynchronous handlers may suspend before answering" * doctest::timeout(10)) {
  router r;
  r.get("/slow/{n}", [](request& req) -> asio::awaitable<response> {
    asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(5));
    co_await t.async_wait(asio::use_awaitable);
    co_return response::text(200, "slept " + std::string(*req.param("n")));
  });
  CHECK(handle(r, http_method::get, "/slow/3").body == "slept 3");
}

TEST_CASE("handler exceptions reach the caller of handle()" * doctest::timeout(10)) {
  router r;
  r.get("/boom", [](request&) -> response { throw std::runtime_error("boom"); });
  auto req = make_request(http_method::get, "/boom");
  CHECK_THROWS_AS(handle(r, req), std::runtime_error);
}

TEST_CASE("malformed and duplicate patterns are refused when registered" * doctest::timeout(10)) {
  router r;
  CHECK_THROWS_AS(r.get("no-slash", echo_route), std::invalid_argument);
  CHECK_THROWS_AS(r.get("/a/{}", echo_route), std::invalid_argument);
  CHECK_THROWS_AS(r.get("/a/{x}/{x}", echo_route), std::invalid_argument);
  CHECK_THROWS_AS(r.get("/a/b%20c", echo_route), std::invalid_argument);
  r.get("/runs/{id}", echo_route);
  CHECK_THROWS_AS(r.get("/runs/{other}", echo_route), std::invalid_argument);
  CHECK_NOTHROW(r.post("/runs/{id}", echo_route));
  CHECK(r.routes().size() == 2);
}

TEST_CASE("request targets are split into path and decoded query parameters" * doctest::timeout(10)) {
  auto req = make_request(http_method::get, "/search?q=a+b%21&empty=&flag&q=second");
  CHECK(req.path == "/search");
  CHECK(req.query_value("q") == "a b!");
  CHECK(req.query_value("empty") == "");
  CHECK(req.query_value("flag") == "");
  CHECK(req.query.size() == 4);
  CHECK_FALSE(req.query_value("missing").has_value());

  auto absolute = make_request(http_method::get, "http://example.com/x/y?z=1");
  CHECK(absolute.path == "/x/y");
  CHECK(absolute.query_value("z") == "1");

  CHECK_FALSE(request::from_target(http_method::get, "/bad%zz").has_value());
  CHECK_FALSE(request::from_target(http_method::get, "*").has_value());
  CHECK_FALSE(request::from_target(http_method::get, "").has_value());
}

TEST_CASE("header names are case-insensitive and repeated fields are kept" * doctest::timeout(10)) {
  header_map h;
  h.add("X-Thing", "1");
  h.add("x-thing", "2");
  CHECK(h.get("X-THING") == "1");
  CHECK(h.size() == 2);
  h.set("X-Thing", "3");
  CHECK(h.size() == 1);
  CHECK(h.get("x-thing") == "3");
  CHECK(h.erase("X-THING") == 1);
  CHECK(h.empty());
}

TEST_CASE("method names round-trip and unknown ones are refused" * doctest::timeout(10)) {
  for (auto m : {http_method::get, http_method::head, http_method::post, http_method::put, http_method::delete_,
                 http_method::patch, http_method::options}) {
    CHECK(parse_method(to_string(m)) == m);
  }
  CHECK_FALSE(parse_method("get").has_value());
  CHECK_FALSE(parse_method("BREW").has_value());
}

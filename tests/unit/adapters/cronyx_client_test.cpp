// The remote plugin client against servers written here with our own
// net::http_server, misbehaving in each way docs/plugins.md's clients must
// survive. Runs go through the engine, so each case checks the run's final
// status and error as a user sees them.

#include "adapters/cronyx/cronyx_client.hpp"
#include "adapters/cronyx/remote_processor.hpp"
#include "engine/graph.hpp"
#include "engine/runner.hpp"
#include "net/http_server.hpp"
#include "net/json.hpp"
#include "tests/unit/net/net_test_support.hpp"

#include <doctest/doctest.h>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

#include <string>
#include <vector>

using namespace cascadence;
using namespace cascadence::test;
using namespace std::chrono_literals;
namespace cronyx = cascadence::adapters::cronyx;
namespace json = boost::json;

namespace {

std::string base(const net::http_server& s) {
  return "http://127.0.0.1:" + std::to_string(s.port());
}

// Fast retries; the real defaults are 3 attempts, 0.5 s then 1 s.
cronyx::settings settings_for(const net::http_server& s) {
  cronyx::settings o;
  o.base_url = base(s);
  o.timeout = 2s;
  o.backoff = 10ms;
  return o;
}

net::response problem(unsigned status, std::string title, std::string detail) {
  auto r = net::json_response(status, json::object{{"type", "about:blank"},
                                                   {"title", std::move(title)},
                                                   {"status", status},
                                                   {"detail", std::move(detail)},
                                                   {"code", "INVALID_ARGUMENT"},
                                                   {"retryable", false}});
  r.content_type = "application/problem+json";
  return r;
}

json::object run_doc(std::string state, json::value result = nullptr, json::value error = nullptr) {
  return json::object{{"run_id", "r1"},
                      {"task_id", "t"},
                      {"state", std::move(state)},
                      {"result", std::move(result)},
                      {"error", std::move(error)},
                      {"started_at", nullptr},
                      {"finished_at", nullptr}};
}

net::response accepted(std::string location, std::string state = "running") {
  auto r = net::json_response(202, run_doc(std::move(state)));
  r.headers.set("Location", std::move(location));
  r.headers.set("Retry-After", "0.05");
  return r;
}

// Runs remote task `task_id` as the one task `t` of a graph (with `timeout`)
// and returns its record.
asio::awaitable<engine::task_record> run_remote(std::shared_ptr<cronyx::server> srv, std::string task_id,
                                                std::chrono::milliseconds timeout = 0ms) {
  json::value params = json::parse(R"({"n":1})");
  engine::graph_builder b;
  engine::task_settings ts;
  ts.timeout = timeout;
  b.add({"t", cronyx::make_remote_processor(std::move(srv), std::move(task_id), std::move(params)), ts});
  auto g = std::move(b).build();
  REQUIRE(g.has_value());
  const engine::task_id targets[] = {0};
  // Named, not a temporary inside the co_await: GCC 12 destroys such a
  // temporary twice (seen once run_options held a std::string).
  auto running = engine::run_graph(g.value(), targets, engine::run_options{});
  auto report = co_await std::move(running);
  REQUIRE(report.records.size() == 1);
  co_return report.records.front();
}

struct discovered_and_ran final {
  std::optional<std::string> discovery_error;
  engine::task_record rec;
};

asio::awaitable<discovered_and_ran> discover_then_run(std::shared_ptr<cronyx::server> srv, std::string task_id) {
  discovered_and_ran out;
  auto found = co_await srv->connection().discover();
  if (!found) out.discovery_error = found.error();
  out.rec = co_await run_remote(srv, std::move(task_id));
  co_return out;
}

struct fixture final : route_server {
  engine::task_record run_task(std::string task_id, std::chrono::milliseconds timeout = 0ms,
                               cronyx::settings* custom = nullptr) {
    auto srv = std::make_shared<cronyx::server>(custom != nullptr ? *custom : settings_for(*server));
    return run(run_remote(std::move(srv), std::move(task_id), timeout));
  }
};

}  // namespace

TEST_CASE("discovery reads /v1/info, the task list in both shapes and each task" * doctest::timeout(20)) {
  fixture f;
  f.routes.get("/v1/info", [](net::request&) {
    return net::json_response(
        200,
        json::object{
            {"protocol_versions", json::array{1}}, {"name", "test-server"}, {"version", "0.1"}, {"runtime", "cpp"}});
  });
  f.routes.get("/tasks", [](net::request&) {
    return net::json_response(200, json::array{json::object{{"id", "sha256"}, {"description", "hash"}}, "wordcount"});
  });
  f.routes.get("/tasks/{id}", [](net::request& req) {
    const auto id = std::string(*req.param("id"));
    return net::json_response(
        200,
        json::object{{"id", id}, {"description", id + " described"}, {"params", json::object{{"type", "object"}}}});
  });
  f.start();
  const cronyx::client c(settings_for(*f.server));
  auto found = f.run(c.discover());
  REQUIRE(found.has_value());
  CHECK(found->protocol_version == 1);
  CHECK(found->server_name == "test-server");
  CHECK(found->runtime == "cpp");
  REQUIRE(found->tasks.size() == 2);
  CHECK(found->tasks[0].id == "sha256");
  CHECK(found->tasks[0].description == "sha256 described");
  CHECK(found->tasks[1].id == "wordcount");
  CHECK(json::serialize(found->tasks[1].params) == R"({"type":"object"})");
}

TEST_CASE("a server with no protocol version in common is refused naming both lists" * doctest::timeout(20)) {
  fixture f;
  f.routes.get("/v1/info", [](net::request&) {
    return net::json_response(200, json::object{{"protocol_versions", {2, 3}}});
  });
  f.start();
  auto found = f.run(cronyx::client(settings_for(*f.server)).discover());
  REQUIRE_FALSE(found.has_value());
  CHECK(found.error() ==
        "remote server " + base(*f.server) + ": no protocol version in common (server: 2, 3; client: 1)");
  CHECK(cronyx::negotiate_version({1, 2}).value() == 1);
}

TEST_CASE("an answer that is not JSON is refused with its status and type" * doctest::timeout(20)) {
  fixture f;
  f.routes.get("/v1/info", [](net::request&) {
    auto r = net::response::text(200, "<html>hello</html>");
    r.content_type = "text/html";
    return r;
  });
  f.routes.post("/v1/tasks/{id}/runs", [](net::request&) { return net::response::text(200, "OK then"); });
  f.start();
  auto srv = std::make_shared<cronyx::server>(settings_for(*f.server));
  const auto [found, rec] = f.run(discover_then_run(srv, "garbage"));
  CHECK(found == "remote server " + base(*f.server) + ": GET /v1/info: the answer (200, text/html) is not JSON");
  CHECK(rec.status == engine::run_status::failed);
  CHECK(rec.error == "remote server " + base(*f.server) +
                         ": POST /v1/tasks/garbage/runs: the answer (200, text/plain; charset=utf-8) is not JSON");
}

TEST_CASE("500s are retried with the same idempotency key, then the run fails with the problem" *
          doctest::timeout(20)) {
  fixture f;
  std::vector<std::string> keys;
  f.routes.post("/v1/tasks/{id}/runs", [&](net::request& req) {
    keys.emplace_back(req.header("Idempotency-Key").value_or("(none)"));
    return problem(500, "internal", "boom");
  });
  f.start();
  const auto rec = f.run_task("flaky");
  CHECK(rec.status == engine::run_status::failed);
  CHECK(rec.error == "remote server " + base(*f.server) + ": 500 internal: boom (after 3 attempts)");
  REQUIRE(keys.size() == 3);
  CHECK(keys[0] == rec.id.to_string() + "-1");
  CHECK(keys[1] == keys[0]);
  CHECK(keys[2] == keys[0]);
}

TEST_CASE("a 503 then a success runs the task once, with its body and bearer token" * doctest::timeout(20)) {
  fixture f;
  int calls = 0;
  std::string body;
  std::string auth;
  f.routes.post("/v1/tasks/{id}/runs", [&](net::request& req) {
    if (++calls == 1) return problem(503, "busy", "try later");
    body = req.body;
    auth = std::string(req.header("Authorization").value_or(""));
    return net::json_response(200, run_doc("succeeded", json::object{{"bytes", 4}}));
  });
  f.start();
  auto s = settings_for(*f.server);
  s.token = "s3cret";
  const auto rec = f.run_task("sha256", 0ms, &s);
  CHECK(rec.status == engine::run_status::success);
  CHECK(json::serialize(rec.output) == R"({"bytes":4})");
  CHECK(calls == 2);
  CHECK(auth == "Bearer s3cret");
  const auto sent = json::parse(body);
  CHECK(json::serialize(sent.at("params")) == R"({"n":1})");
  CHECK(sent.at("mode") == "sync");
  CHECK(sent.at("timeout_ms").as_int64() == 1000);
  CHECK(sent.at("input").at("task") == "t");
}

TEST_CASE("a 202 is polled at its Location until the run ends" * doctest::timeout(20)) {
  fixture f;
  int polls = 0;
  f.routes.post("/v1/tasks/{id}/runs", [](net::request&) { return accepted("/v1/runs/r1", "queued"); });
  f.routes.get("/v1/runs/{id}", [&](net::request&) {
    auto r = net::json_response(200, ++polls < 3 ? run_doc("running") : run_doc("succeeded", "done"));
    r.headers.set("Retry-After", "0");
    return r;
  });
  f.start();
  const auto rec = f.run_task("slow");
  CHECK(rec.status == engine::run_status::success);
  CHECK(rec.output == "done");
  CHECK(polls == 3);
}

TEST_CASE("a problem document becomes the run's error" * doctest::timeout(20)) {
  fixture f;
  f.routes.post("/v1/tasks/{id}/runs",
                [](net::request&) { return problem(422, "invalid params", "'path' is required"); });
  f.start();
  const auto rec = f.run_task("sha256");
  CHECK(rec.status == engine::run_status::failed);
  CHECK(rec.attempts == 1);
  CHECK(rec.error == "remote server " + base(*f.server) + ": 422 invalid params: 'path' is required");
}

TEST_CASE("a run the server reports failed carries its error" * doctest::timeout(20)) {
  fixture f;
  f.routes.post("/v1/tasks/{id}/runs", [](net::request&) {
    return net::json_response(
        200, run_doc("failed", nullptr,
                     json::object{{"title", "no such file"}, {"detail", "/nope"}, {"code", "NOT_FOUND"}}));
  });
  f.start();
  const auto rec = f.run_task("sha256");
  CHECK(rec.status == engine::run_status::failed);
  CHECK(rec.error == "remote server " + base(*f.server) + ": task sha256 failed: no such file: /nope");
}

TEST_CASE("a run that hangs past the task's timeout is cancelled on the server" * doctest::timeout(20)) {
  fixture f;
  std::vector<std::string> cancelled;
  f.routes.post("/v1/tasks/{id}/runs", [](net::request&) { return accepted("/v1/runs/r1"); });
  f.routes.get("/v1/runs/{id}", [](net::request&) {
    auto r = net::json_response(200, run_doc("running"));
    r.headers.set("Retry-After", "0.05");
    return r;
  });
  f.routes.post("/v1/runs/{id}/cancel", [&](net::request& req) {
    cancelled.emplace_back(*req.param("id"));
    return net::json_response(202, run_doc("cancelled"));
  });
  f.start();
  const auto rec = f.run_task("hang", 300ms);
  CHECK(rec.status == engine::run_status::timed_out);
  CHECK(rec.error == "timed out after 300ms");
  CHECK(cancelled == std::vector<std::string>{"r1"});
}

TEST_CASE("a run cancelled before its start is answered is found again by its key and cancelled" *
          doctest::timeout(20)) {
  fixture f;
  std::vector<std::string> keys;
  std::vector<std::string> cancelled;
  f.routes.post("/v1/tasks/{id}/runs", [&](net::request& req) -> asio::awaitable<net::response> {
    keys.emplace_back(req.header("Idempotency-Key").value_or("(none)"));
    if (keys.size() == 1) co_await pause(3s);  // a sync wait the client gives up on
    co_return accepted("/v1/runs/r1");
  });
  f.routes.post("/v1/runs/{id}/cancel", [&](net::request& req) {
    cancelled.emplace_back(*req.param("id"));
    return net::json_response(202, run_doc("cancelled"));
  });
  f.start();
  const auto rec = f.run_task("slow", 200ms);
  CHECK(rec.status == engine::run_status::timed_out);
  CHECK(rec.error == "timed out after 200ms");
  REQUIRE(keys.size() == 2);
  CHECK(keys[1] == keys[0]);
  CHECK(cancelled == std::vector<std::string>{"r1"});
}

TEST_CASE("a request that gets no answer fails after CRONYX_TIMEOUT without a retry" * doctest::timeout(20)) {
  fixture f;
  int calls = 0;
  f.routes.post("/v1/tasks/{id}/runs", [&](net::request&) -> asio::awaitable<net::response> {
    ++calls;
    co_await pause(5s);
    co_return net::response::text(200, "late");
  });
  f.start();
  auto s = settings_for(*f.server);
  s.timeout = 200ms;
  const auto rec = f.run_task("stuck", 0ms, &s);
  CHECK(rec.status == engine::run_status::failed);
  CHECK(rec.error ==
        "remote server " + base(*f.server) + ": POST /v1/tasks/stuck/runs: no answer within 200ms (CRONYX_TIMEOUT)");
  CHECK(calls == 1);
}

TEST_CASE("a redirect is refused naming its Location" * doctest::timeout(20)) {
  fixture f;
  bool followed = false;
  f.routes.post("/v1/tasks/{id}/runs", [](net::request&) {
    auto r = net::response::empty(307);
    r.headers.set("Location", "http://other.example:9/v1/tasks/x/runs");
    return r;
  });
  f.routes.get("/v1/runs/{id}", [&](net::request&) {
    followed = true;
    return net::json_response(200, run_doc("succeeded"));
  });
  f.start();
  const auto rec = f.run_task("x");
  CHECK(rec.status == engine::run_status::failed);
  CHECK(rec.error == "remote server " + base(*f.server) +
                         ": POST /v1/tasks/x/runs: answered 307 redirecting to http://other.example:9/v1/tasks/x/runs "
                         "(redirects are not followed)");
  CHECK_FALSE(followed);
}

TEST_CASE("a 202 whose Location is on another host is not polled" * doctest::timeout(20)) {
  fixture f;
  f.routes.post("/v1/tasks/{id}/runs", [](net::request&) { return accepted("http://other.example:9/v1/runs/r1"); });
  f.start();
  const auto rec = f.run_task("x");
  CHECK(rec.status == engine::run_status::failed);
  CHECK(rec.error == "remote server " + base(*f.server) +
                         ": Location http://other.example:9/v1/runs/r1 is not on this server (not followed)");
}

TEST_CASE("an answer larger than the body limit is refused" * doctest::timeout(20)) {
  fixture f;
  f.routes.post("/v1/tasks/{id}/runs",
                [](net::request&) { return net::json_response(200, run_doc("succeeded", json::string(4096, 'x'))); });
  f.start();
  auto s = settings_for(*f.server);
  s.body_limit = 1024;
  const auto rec = f.run_task("big", 0ms, &s);
  CHECK(rec.status == engine::run_status::failed);
  CHECK(rec.error == "remote server " + base(*f.server) +
                         ": POST /v1/tasks/big/runs: the answer is larger than 1024 bytes (refused)");
}

TEST_CASE("a server marked unavailable fails its runs at once with the reason" * doctest::timeout(20)) {
  fixture f;
  int calls = 0;
  f.routes.post("/v1/tasks/{id}/runs", [&](net::request&) {
    ++calls;
    return net::json_response(200, run_doc("succeeded"));
  });
  f.start();
  auto srv = std::make_shared<cronyx::server>(settings_for(*f.server));
  srv->mark_unavailable("remote server " + base(*f.server) + ": GET /v1/info: cannot connect");
  const auto rec = f.run(run_remote(srv, "x"));
  CHECK(rec.status == engine::run_status::failed);
  CHECK(rec.error == "remote server " + base(*f.server) + ": unavailable (GET /v1/info: cannot connect)");
  CHECK(calls == 0);
}

TEST_CASE("a server that is down fails discovery with the connection error" * doctest::timeout(20)) {
  asio::io_context io;
  tcp::acceptor a(io, loopback(0));
  const auto port = a.local_endpoint().port();
  a.close();
  cronyx::settings s;
  s.base_url = "http://127.0.0.1:" + std::to_string(port);
  s.backoff = 10ms;
  auto found = run_async(io, cronyx::client(s).discover());
  REQUIRE_FALSE(found.has_value());
  CHECK(found.error().starts_with("remote server " + s.base_url +
                                  ": GET /v1/info: cannot connect to 127.0.0.1:" + std::to_string(port)));
  CHECK(found.error().ends_with("(after 3 attempts)"));
}

TEST_CASE("base URLs are normalized or refused") {
  CHECK(cronyx::normalize_base_url("http://127.0.0.1:8700/").value() == "http://127.0.0.1:8700");
  CHECK(cronyx::normalize_base_url("https://h/prefix//").value() == "https://h/prefix");
  CHECK(cronyx::normalize_base_url("ftp://h").error().message ==
        "'ftp://h' is not an http:// or https:// URL with a host");
  CHECK(cronyx::normalize_base_url("http://h/?q").error().message ==
        "'http://h/?q' has a query, a fragment or a space");
}

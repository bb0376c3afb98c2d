#include "adapters/api/api_service.hpp"
#include "adapters/events/user_hash.hpp"
#include "net/router.hpp"
#include "tests/support/run_async.hpp"

#include <doctest/doctest.h>
#include <boost/asio/io_context.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>

using namespace cascadence;
using namespace cascadence::adapters::api;

namespace {

struct fake_backend final : api_backend {
  std::vector<boost::json::value> inputs;
  std::vector<std::string> user_hashes;
  std::vector<bool> scopes;
  std::vector<task_summary> tasks() const override {
    return {{"build", "manual", true, ""}, {"nightly", "cron", false, "0 2 * * *"}};
  }
  bool has_task(std::string_view name) const override { return name == "build" || name == "nightly"; }
  boost::asio::awaitable<finished_run> run(std::string task, boost::json::value input, engine::run_id,
                                           bool with_dependencies, std::string user_hash) override {
    inputs.push_back(input);
    scopes.push_back(with_dependencies);
    user_hashes.push_back(std::move(user_hash));
    finished_run r;
    r.status = "success";
    r.tasks.push_back(boost::json::object{{"task", task}, {"status", "success"}, {"output", input}});
    co_return r;
  }
};

struct fixture final {
  boost::asio::io_context io;
  std::shared_ptr<fake_backend> backend = std::make_shared<fake_backend>();
  net::router routes;
  explicit fixture(api_options o = {}) {
    add_health_route(routes);
    add_api_routes(routes, std::make_shared<api_service>(io.get_executor(), backend, std::move(o)));
  }
  net::response send(net::http_method m, std::string target, std::string body = {}, std::string auth = {}) {
    auto req = *net::request::from_target(m, target);
    req.body = std::move(body);
    if (!auth.empty()) req.headers.set("Authorization", std::move(auth));
    return test::run_async(io, routes.handle(req));
  }
};

}  // namespace

TEST_CASE("the task list names each task's kind, state and schedule") {
  fixture f;
  const auto r = f.send(net::http_method::get, "/api/v1/tasks");
  CHECK(r.status == 200);
  const auto v = boost::json::parse(r.body);
  CHECK(v.at("tasks").as_array().size() == 2);
  CHECK(v.at("tasks").at(1).at("schedule") == "0 2 * * *");
  CHECK(v.at("tasks").at(0).at("schedule").is_null());
  CHECK(f.send(net::http_method::get, "/healthz").body == R"({"status":"ok"})");
}

TEST_CASE("dependencies=false asks the backend for the task alone, and anything but true or false is refused") {
  fixture f;
  CHECK(f.send(net::http_method::post, "/api/v1/tasks/build/runs?wait=true").status == 200);
  CHECK(f.send(net::http_method::post, "/api/v1/tasks/build/runs?wait=true&dependencies=false").status == 200);
  CHECK(f.send(net::http_method::post, "/api/v1/tasks/build/runs?wait=true&dependencies=true").status == 200);
  CHECK(f.backend->scopes == std::vector<bool>{true, false, true});
  const auto bad = f.send(net::http_method::post, "/api/v1/tasks/build/runs?dependencies=no");
  CHECK(bad.status == 400);
  CHECK(bad.body.find("dependencies must be true or false") != std::string::npos);
  CHECK(f.backend->scopes.size() == 3);
}

TEST_CASE("a run started with wait=true answers with its result, and stays readable by id") {
  fixture f;
  const auto r = f.send(net::http_method::post, "/api/v1/tasks/build/runs?wait=true", R"({"x":1})");
  CHECK(r.status == 200);
  const auto v = boost::json::parse(r.body);
  CHECK(v.at("status") == "success");
  CHECK(v.at("tasks").at(0).at("output").at("x") == 1);
  const auto id = std::string(v.at("run_id").as_string());
  const auto again = f.send(net::http_method::get, "/api/v1/runs/" + id);
  CHECK(again.status == 200);
  CHECK(boost::json::parse(again.body).at("task") == "build");
  CHECK(f.send(net::http_method::get, "/api/v1/runs/nope").status == 404);
}

TEST_CASE("a run started without wait answers 202 with its id; an empty body is a null input") {
  fixture f;
  const auto r = f.send(net::http_method::post, "/api/v1/tasks/build/runs");
  CHECK(r.status == 202);
  const auto id = std::string(boost::json::parse(r.body).at("run_id").as_string());
  REQUIRE(f.backend->inputs.size() == 1);  // the io_context ran the detached run to the end
  CHECK(f.backend->inputs[0].is_null());
  CHECK(boost::json::parse(f.send(net::http_method::get, "/api/v1/runs/" + id).body).at("status") == "success");
}

TEST_CASE("X-Cascadence-User-Id reaches the run as its hash only") {
  fixture f;
  auto req = *net::request::from_target(net::http_method::post, "/api/v1/tasks/build/runs?wait=true");
  req.headers.set("X-Cascadence-User-Id", "alice@example.com");
  CHECK(test::run_async(f.io, f.routes.handle(req)).status == 200);
  REQUIRE(f.backend->user_hashes.size() == 1);
  CHECK(f.backend->user_hashes[0] == adapters::events::hash_user_id("alice@example.com"));
  CHECK(f.backend->user_hashes[0].find("alice") == std::string::npos);
  CHECK(f.send(net::http_method::post, "/api/v1/tasks/build/runs").status == 202);
  CHECK(f.backend->user_hashes.at(1).empty());
  req.headers.set("X-Cascadence-User-Id", "");
  CHECK(test::run_async(f.io, f.routes.handle(req)).status == 200);
  CHECK(f.backend->user_hashes.at(2) == adapters::events::hash_user_id(""));
}

TEST_CASE("unknown tasks and malformed bodies are refused") {
  fixture f;
  CHECK(f.send(net::http_method::post, "/api/v1/tasks/ghost/runs").status == 404);
  const auto r = f.send(net::http_method::post, "/api/v1/tasks/build/runs", "{oops");
  CHECK(r.status == 400);
  CHECK(r.body.find("malformed JSON") != std::string::npos);
  CHECK(f.send(net::http_method::delete_, "/api/v1/tasks").status == 405);
}

TEST_CASE("with a token required, the api needs the exact bearer token but /healthz does not") {
  api_options o;
  o.require_token = true;
  o.token = "t0k";
  fixture f(o);
  CHECK(f.send(net::http_method::get, "/api/v1/tasks").status == 401);
  CHECK(f.send(net::http_method::get, "/api/v1/tasks", {}, "Bearer wrong").status == 401);
  CHECK(f.send(net::http_method::get, "/api/v1/tasks", {}, "Basic t0k").status == 401);
  CHECK(f.send(net::http_method::post, "/api/v1/tasks/build/runs", {}, "Bearer nope").status == 401);
  CHECK(f.backend->inputs.empty());
  CHECK(f.send(net::http_method::get, "/api/v1/tasks", {}, "Bearer t0k").status == 200);
  CHECK(f.send(net::http_method::get, "/healthz").status == 200);
}

TEST_CASE("the run table keeps only the most recent runs") {
  run_table t(2);
  const auto a = engine::run_id::random(), b = engine::run_id::random(), c = engine::run_id::random();
  t.started(a, "x", {});
  t.started(b, "x", {});
  t.started(c, "x", {});
  CHECK(t.size() == 2);
  CHECK_FALSE(t.find(a.to_string()));
  CHECK(t.find(c.to_string())->at("status") == "running");
  t.finished(c, {"failed", {}, {}}, {});
  CHECK(t.find(c.to_string())->at("status") == "failed");
}

// Remote plugin servers as configuration: the keys, the environment that
// wins over them, and how a discovery's tasks join a configuration (against
// a real server written here with net::http_server).

#include "service/remote_tasks.hpp"

#include "engine/graph.hpp"
#include "net/http_server.hpp"
#include "net/json.hpp"
#include "tests/support/run_async.hpp"

#include <doctest/doctest.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <cstdlib>
#include <string>

using namespace cascadence;
using namespace cascadence::service;
using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace json = boost::json;

namespace {

// Sets an environment variable for one test case.
class scoped_env final {
 public:
  scoped_env(const char* name, const char* value) : name_(name) { ::setenv(name, value, 1); }
  ~scoped_env() { ::unsetenv(name_); }
  scoped_env(const scoped_env&) = delete;
  scoped_env& operator=(const scoped_env&) = delete;

 private:
  const char* name_;
};

std::string error_for(const std::string& yaml) {
  try {
    auto cfg = parse_config(yaml, "test.yml");
    (void)remote_settings(cfg);
    (void)build_graph(cfg);
  } catch (const config_error& e) {
    return e.what();
  }
  return "no error";
}

const remote_spec& remote_of(const config& cfg, std::string_view name) {
  const auto* t = cfg.find(name);
  REQUIRE(t != nullptr);
  const auto* r = std::get_if<remote_spec>(&t->processor);
  REQUIRE(r != nullptr);
  return *r;
}

std::uint16_t closed_port(asio::io_context& io) {
  asio::ip::tcp::acceptor a(io, {asio::ip::make_address("127.0.0.1"), 0});
  const auto port = a.local_endpoint().port();
  a.close();
  return port;
}

}  // namespace

TEST_CASE("the cronyx block and cronyx_refresh are read, and the environment wins over them") {
  const auto cfg = parse_config(R"(
cronyx_refresh: 90
cronyx:
  base_url: http://127.0.0.1:8700/
  timeout: 2s
  token: from-file
tasks:
  a: {echo: x}
)",
                                "test.yml");
  auto s = remote_settings(cfg);
  REQUIRE(s.has_value());
  CHECK(s->base_url == "http://127.0.0.1:8700");
  CHECK(s->timeout == 2s);
  CHECK(s->token == "from-file");
  CHECK(s->refresh == 90s);
  {
    const scoped_env url("CRONYX_BASE_URL", "http://10.0.0.1:9");
    const scoped_env timeout("CRONYX_TIMEOUT", "0.5");
    const scoped_env token("CRONYX_TOKEN", "from-env");
    const scoped_env refresh("CASCADENCE_CRONYX_REFRESH", "1m30s");
    s = remote_settings(cfg);
    REQUIRE(s.has_value());
    CHECK(s->base_url == "http://10.0.0.1:9");
    CHECK(s->timeout == 500ms);
    CHECK(s->token == "from-env");
    CHECK(s->refresh == 90s);
  }
  const auto defaults = remote_settings(parse_config("cronyx: {base_url: 'https://h'}\n", "test.yml"));
  REQUIRE(defaults.has_value());
  CHECK(defaults->timeout == 5s);
  CHECK(defaults->refresh == 10min);
  CHECK_FALSE(remote_settings(parse_config("tasks: {a: {echo: x}}\n", "test.yml")).has_value());
}

TEST_CASE("bad remote settings are refused naming the key or the variable") {
  CHECK(error_for("cronyx_refresh: 0\n") ==
        "test.yml:1:17: cronyx_refresh: invalid interval '0' (seconds, e.g. 600, or a duration, e.g. 10m)");
  CHECK(error_for("cronyx: {base_url: 'ftp://x'}\n") ==
        "test.yml:1:9: cronyx.base_url: 'ftp://x' is not an http:// or https:// URL with a host");
  CHECK(error_for("cronyx: {url: x}\n") ==
        "test.yml:1:10: cronyx: unknown key 'url' (known keys: base_url, timeout, token, refresh)");
  const scoped_env url("CRONYX_BASE_URL", "http://h");
  const scoped_env timeout("CRONYX_TIMEOUT", "forever");
  CHECK(error_for("tasks: {a: {echo: x}}\n") ==
        "CRONYX_TIMEOUT: invalid interval 'forever' (seconds, e.g. 5, or a duration, e.g. 5s)");
}

TEST_CASE("a remote task takes typed params and defaults to kind remote") {
  const auto cfg = parse_config(R"(
tasks:
  hash:
    remote: sha256
    params: {path: /tmp/x, limit: 10, ratio: 0.5, deep: true, none: ~, quoted: "10", list: [1, a]}
)",
                                "test.yml");
  const auto& r = remote_of(cfg, "hash");
  CHECK(r.id == "sha256");
  CHECK_FALSE(r.discovered);
  CHECK(json::serialize(r.params) ==
        R"({"path":"/tmp/x","limit":10,"ratio":5E-1,"deep":true,"none":null,"quoted":"10","list":[1,"a"]})");
  CHECK(cfg.find("hash")->settings.kind == engine::task_kind::remote);
}

TEST_CASE("remote task mistakes are configuration errors with their position") {
  CHECK(error_for("tasks:\n  a: {echo: x, params: {n: 1}}\n") ==
        "test.yml:2:24: tasks.a.params: params apply to remote and plugin tasks only");
  CHECK(error_for("tasks:\n  a: {echo: x, kind: remote}\n") ==
        "test.yml:2:6: tasks.a.kind: kind remote is for the tasks of a remote server (give the task 'remote: ID')");
  CHECK(error_for("tasks:\n  a: {remote: 'no/slash'}\n") ==
        "test.yml:2:15: tasks.a.remote: invalid remote task id 'no/slash' (use letters, digits, '_', '-' and '.')");
  CHECK(error_for("tasks:\n  a: {remote: x, echo: y}\n") ==
        "test.yml:2:24: tasks.a: a task has exactly one of command, echo, sleep, remote or plugin");
  CHECK(error_for("tasks:\n  a: {remote: x}\n") ==
        "test.yml:2:6: tasks.a.remote: no remote server is configured (set CRONYX_BASE_URL or cronyx.base_url)");
}

TEST_CASE("while the server cannot be reached, names only it could define are its tasks" * doctest::timeout(20)) {
  asio::io_context io;
  adapters::cronyx::settings s;
  s.base_url = "http://127.0.0.1:" + std::to_string(closed_port(io));
  s.backoff = 10ms;
  remote_tasks tasks(s);
  const auto r = test::run_async(io, tasks.refresh());
  CHECK_FALSE(r.ok);
  CHECK(r.message.starts_with("remote server " + s.base_url + ": GET /v1/info: cannot connect"));
  auto cfg = parse_config("tasks:\n  local:\n    echo: x\n    after: [sha256]\n  typo:\n    remote: x\n", "test.yml");
  CHECK(tasks.apply(cfg).empty());
  CHECK(remote_of(cfg, "sha256").discovered);
  CHECK(cfg.find("sha256")->settings.kind == engine::task_kind::remote);
  CHECK(remote_of(cfg, "typo").bound != nullptr);
  CHECK(build_graph(cfg).size() == 3);
}

TEST_CASE("discovered tasks join the configuration, a local name wins, and a refresh replaces them" *
          doctest::timeout(20)) {
  asio::io_context io;
  json::array listed{json::object{{"id", "sha256"}, {"description", "hash"}}, "wordcount"};
  net::router routes;
  routes.get("/v1/info", [](net::request&) {
    return net::json_response(200, json::object{{"protocol_versions", {1}}});
  });
  routes.get("/tasks", [&](net::request&) { return net::json_response(200, listed); });
  routes.get("/tasks/{id}", [](net::request& req) {
    return net::json_response(200, json::object{{"id", std::string(*req.param("id"))}});
  });
  net::http_server server(io.get_executor(), std::move(routes));
  REQUIRE_FALSE(server.start());
  adapters::cronyx::settings s;
  s.base_url = "http://127.0.0.1:" + std::to_string(server.port());
  remote_tasks tasks(s);

  config cfg = parse_config("tasks:\n  wordcount:\n    echo: mine\n", "test.yml");
  std::vector<std::string> notes;
  std::vector<refresh_result> results;
  std::vector<std::string> after_second;
  auto body = [&]() -> asio::awaitable<int> {
    results.push_back(co_await tasks.refresh());
    notes = tasks.apply(cfg);
    listed = json::array{"other"};
    results.push_back(co_await tasks.refresh());
    server.stop(0ms);
    co_await server.wait_stopped();
    co_return 0;
  };
  (void)test::run_async(io, body());
  REQUIRE(results.size() == 2);
  CHECK(results[0].ok);
  CHECK(results[0].changed);
  CHECK(results[0].message == "remote server " + s.base_url + ": 2 task(s) (protocol 1): sha256, wordcount");
  REQUIRE(notes.size() == 1);
  CHECK(notes[0] == "remote server " + s.base_url +
                        " advertises task 'wordcount'; the local task of that name (test.yml:3:5) wins");
  CHECK(remote_of(cfg, "sha256").discovered);
  CHECK(cfg.find("sha256")->settings.description == "hash");
  CHECK(std::holds_alternative<echo_spec>(cfg.find("wordcount")->processor));

  CHECK(results[1].changed);
  (void)tasks.apply(cfg);
  CHECK(cfg.find("sha256") == nullptr);
  CHECK(remote_of(cfg, "other").discovered);
  CHECK(cfg.tasks.size() == 2);
}

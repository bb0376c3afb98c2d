#include "service/runtime.hpp"

#include "adapters/metrics/metrics.hpp"
#include "net/http_message.hpp"
#include "net/router.hpp"

#include <doctest/doctest.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/json/parse.hpp>

#include <unistd.h>
#include <filesystem>
#include <optional>
#include <sstream>
#include <string>

using namespace cascadence;
namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

class scratch_dir final {
 public:
  scratch_dir() {
    auto templ = (std::filesystem::temp_directory_path() / "cascadence-runtime-XXXXXX").string();
    path_ = ::mkdtemp(templ.data());
  }
  ~scratch_dir() { std::filesystem::remove_all(path_); }
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

// One step of the loop; the loop running dry before `done` is a bug.
void step(asio::io_context& io, const bool& done) {
  if (io.stopped()) io.restart();
  if (io.run_one() == 0 && !done) throw std::logic_error("the loop ran out of work before the coroutine completed");
}

// Runs the loop until `work` completes (not until the loop runs dry: runs
// started over HTTP go on in the background) and returns its result.
template <typename T>
T run_until_done(asio::io_context& io, asio::awaitable<T> work) {
  std::optional<T> result;
  std::exception_ptr error;
  bool done = false;
  asio::co_spawn(io, std::move(work), [&](std::exception_ptr e, T value) {
    error = e;
    if (!e) result.emplace(std::move(value));
    done = true;
  });
  while (!done) step(io, done);
  if (error) std::rethrow_exception(error);
  return std::move(*result);
}

void run_until_done(asio::io_context& io, asio::awaitable<void> work) {
  bool done = false;
  std::exception_ptr error;
  asio::co_spawn(io, std::move(work), [&](std::exception_ptr e) {
    error = e;
    done = true;
  });
  while (!done) step(io, done);
  if (error) std::rethrow_exception(error);
}

// A configuration whose state files live in `dir`.
service::config config_in(const scratch_dir& dir, const std::string& tasks_yaml, const std::string& extra = {}) {
  return service::parse_config(
      "storage_path: " + (dir.path() / "schedules.yml").string() + "\n" + extra + "tasks:\n" + tasks_yaml,
      dir.path() / "cascadence.yml");
}

// A runtime on a test loop whose routes are driven without sockets.
struct fixture final {
  scratch_dir dir;
  asio::io_context io;
  asio::thread_pool pool{1};
  std::ostringstream log;
  std::optional<service::runtime> rt;
  net::router routes;

  explicit fixture(const std::string& tasks_yaml, const std::string& extra = {}) {
    service::runtime_options options;
    options.serve_http = false;
    options.fire_schedules = false;
    rt.emplace(io.get_executor(), pool, config(tasks_yaml, extra), options, log);
    rt->add_routes(routes);
    rt->start();
  }
  ~fixture() {
    if (rt) stop(0ms);
    pool.join();
  }

  [[nodiscard]] service::config config(const std::string& tasks_yaml, const std::string& extra = {}) const {
    return config_in(dir, tasks_yaml, extra);
  }

  net::response send(net::http_method m, std::string target, std::string body = {}) {
    auto req = *net::request::from_target(m, target);
    req.body = std::move(body);
    return run_until_done(io, routes.handle(req));
  }

  void stop(std::chrono::milliseconds grace) {
    run_until_done(io, rt->stop(grace, "test over"));
    io.run();  // what stop() left to settle
    io.restart();
    rt.reset();
  }
};

}  // namespace

TEST_CASE("a runtime serves its routes and runs a task through the API on the host's loop" * doctest::timeout(30)) {
  fixture f("  greet:\n    echo: hello\n");
  CHECK(f.send(net::http_method::get, "/healthz").status == 200);
  const auto r = f.send(net::http_method::post, "/api/v1/tasks/greet/runs?wait=true");
  REQUIRE(r.status == 200);
  const auto v = boost::json::parse(r.body);
  CHECK(v.at("status") == "success");
  CHECK(v.at("tasks").at(0).at("task") == "greet");
  CHECK(v.at("tasks").at(0).at("output") == "hello");
  const auto metrics = f.send(net::http_method::get, "/metrics");
  CHECK(metrics.status == 200);
  CHECK(metrics.body.find("task_success_total{task_name=\"greet\"} 1") != std::string::npos);
}

TEST_CASE("runs started over HTTP past http.max_runs are refused with 503 and Retry-After" * doctest::timeout(30)) {
  fixture f("  slow:\n    sleep: 30s\n  hook:\n    echo: hi\n    on: {webhook: ci}\n", "http: {max_runs: 1}\n");
  const auto first = f.send(net::http_method::post, "/api/v1/tasks/slow/runs");
  CHECK(first.status == 202);
  CHECK(f.rt->running() == 1);
  const auto second = f.send(net::http_method::post, "/api/v1/tasks/slow/runs");
  CHECK(second.status == 503);
  CHECK(second.headers.get("Retry-After") == "1");
  CHECK(second.body.find("http.max_runs") != std::string::npos);
  const auto hook = f.send(net::http_method::post, "/webhook/ci", R"({"type":"push"})");
  CHECK(hook.status == 503);
  CHECK(hook.headers.get("Retry-After") == "1");
  const auto text = f.rt->metrics().render();
  CHECK(text.find("cascadence_http_runs_in_flight 1") != std::string::npos);
  CHECK(text.find("cascadence_http_runs_limit 1") != std::string::npos);
  CHECK(text.find("cascadence_http_runs_refused_total 2") != std::string::npos);
  // stop() with no grace cancels the sleeping run and gives its place back.
  f.stop(0ms);
  CHECK(f.log.str().find("stopped") != std::string::npos);
}

TEST_CASE("stop waits for runs started over HTTP within the grace period" * doctest::timeout(30)) {
  fixture f("  short:\n    sleep: 200ms\n");
  const auto started = f.send(net::http_method::post, "/api/v1/tasks/short/runs");
  REQUIRE(started.status == 202);
  const auto id = boost::json::parse(started.body).at("run_id").as_string();
  run_until_done(f.io, f.rt->stop(30s, "test over"));
  CHECK(f.rt->running() == 0);
  // The run finished on its own: readable, and a success.
  net::router& routes = f.routes;
  auto req = *net::request::from_target(net::http_method::get, "/api/v1/runs/" + std::string(id));
  const auto row = run_until_done(f.io, routes.handle(req));
  CHECK(boost::json::parse(row.body).at("status") == "success");
  f.io.run();
  f.rt.reset();
}

TEST_CASE("stop cancels runs started over HTTP once the grace period is over" * doctest::timeout(30)) {
  fixture f("  slow:\n    sleep: 30s\n");
  const auto started = f.send(net::http_method::post, "/api/v1/tasks/slow/runs");
  REQUIRE(started.status == 202);
  const auto id = std::string(boost::json::parse(started.body).at("run_id").as_string());
  run_until_done(f.io, f.rt->stop(10ms, "test over"));
  CHECK(f.rt->running() == 0);
  auto req = *net::request::from_target(net::http_method::get, "/api/v1/runs/" + id);
  const auto row = boost::json::parse(run_until_done(f.io, f.routes.handle(req)).body);
  CHECK(row.at("status") == "cancelled");
  CHECK(row.at("cancel_reason") == "test over");
  f.io.run();
  f.rt.reset();
}

TEST_CASE("the API runs a task alone when asked, with its dependencies otherwise" * doctest::timeout(30)) {
  fixture f("  a:\n    echo: 1\n  b:\n    echo: 2\n    after: [a]\n");
  const auto alone =
      boost::json::parse(f.send(net::http_method::post, "/api/v1/tasks/b/runs?wait=true&dependencies=false").body);
  CHECK(alone.at("status") == "success");
  REQUIRE(alone.at("tasks").as_array().size() == 1);
  CHECK(alone.at("tasks").at(0).at("task") == "b");
  const auto with = boost::json::parse(f.send(net::http_method::post, "/api/v1/tasks/b/runs?wait=true").body);
  REQUIRE(with.at("tasks").as_array().size() == 2);
  CHECK(with.at("tasks").at(0).at("task") == "a");
}

TEST_CASE("reload swaps the configuration, and one that does not load changes nothing" * doctest::timeout(30)) {
  fixture f("  a:\n    echo: 1\n");
  CHECK(f.send(net::http_method::post, "/api/v1/tasks/b/runs").status == 404);
  CHECK(f.rt->reload(f.config("  a:\n    echo: 1\n  b:\n    echo: 2\n")));
  CHECK(f.send(net::http_method::post, "/api/v1/tasks/b/runs?wait=true").status == 200);
  CHECK(f.rt->current().find("b") != nullptr);
  // reload() re-reads the file named as the configuration's source, which
  // here does not exist: refused, logged, the configuration kept.
  CHECK_FALSE(f.rt->reload());
  CHECK(f.log.str().find("reload refused") != std::string::npos);
  CHECK(f.rt->current().find("b") != nullptr);
}

TEST_CASE("a runtime that serves HTTP binds a free port and stops cleanly" * doctest::timeout(30)) {
  scratch_dir dir;
  asio::io_context io;
  asio::thread_pool pool(1);
  std::ostringstream log;
  service::runtime_options options;
  options.listen.port = 0;
  service::runtime rt(io.get_executor(), pool, config_in(dir, "  a:\n    echo: 1\n    schedule: '0 0 1 1 *'\n"),
                      options, log);
  rt.start();
  CHECK(rt.port() != 0);
  CHECK(log.str().find("listening on http://127.0.0.1:" + std::to_string(rt.port())) != std::string::npos);
  CHECK(log.str().find("1 schedule(s) active") != std::string::npos);
  run_until_done(io, rt.stop(1s, "test over"));
  io.run();
  CHECK(log.str().find("stopped") != std::string::npos);
  pool.join();
}

TEST_CASE("a runtime refuses to serve the API off loopback without a token" * doctest::timeout(30)) {
  scratch_dir dir;
  asio::io_context io;
  asio::thread_pool pool(1);
  std::ostringstream log;
  service::runtime_options options;
  options.listen.host = "0.0.0.0";
  ::unsetenv("CASCADENCE_API_TOKEN");
  CHECK_THROWS_AS(service::runtime(io.get_executor(), pool, config_in(dir, "  a:\n    echo: 1\n"), options, log),
                  service::config_error);
  pool.join();
}

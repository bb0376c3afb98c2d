// A host application that owns its io_context and runs its own coroutines,
// with Cascadence on the same loop, twice: the engine alone running a graph
// built in C++, then the whole service (scheduler, REST API, webhooks,
// /metrics) from a YAML configuration, driven over HTTP and stopped by the
// host; the service's configuration comes from service::initialize(), the
// one call that reads a configuration file as `task` does. Nothing here
// creates a thread except the pool the host chooses to give for blocking
// work.

#include "engine/builtin_processors.hpp"
#include "engine/graph.hpp"
#include "engine/processor.hpp"
#include "engine/runner.hpp"
#include "net/http_client.hpp"
#include "service/initialize.hpp"
#include "service/runtime.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>

#include <boost/json/parse.hpp>

#include <unistd.h>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <variant>

namespace asio = boost::asio;
namespace engine = cascadence::engine;
using namespace std::chrono_literals;

namespace {

// The host's own work: a heartbeat that runs until the host says stop.
asio::awaitable<void> heartbeat(bool& stop) {
  asio::steady_timer timer(co_await asio::this_coro::executor);
  for (int tick = 1; !stop; ++tick) {
    std::cout << "host: heartbeat " << tick << std::endl;
    timer.expires_after(40ms);
    co_await timer.async_wait(asio::use_awaitable);
  }
}

engine::graph make_graph() {
  engine::graph_builder b;
  // An async step: waits on the host's loop without blocking it.
  const auto fetch = b.add({"fetch",
                            engine::make_async_processor([](engine::task_context&) -> asio::awaitable<engine::outcome> {
                              asio::steady_timer t(co_await asio::this_coro::executor, 150ms);
                              co_await t.async_wait(asio::use_awaitable);
                              co_return engine::outcome::success(boost::json::value{{"rows", 3}});
                            }),
                            {}});
  // A blocking step: runs on the host's pool, the loop keeps going.
  const auto crunch = b.add({"crunch",
                             engine::make_blocking_processor([](engine::task_context& ctx) {
                               const auto rows = ctx.input().at("dependencies").at("fetch").at("rows").as_int64();
                               return engine::outcome::success(rows * 14);
                             }),
                             {}});
  const auto report = b.add({"report", engine::make_echo_processor(nullptr), {}});
  b.add_dependency(crunch, fetch);
  b.add_dependency(report, crunch);
  auto result = std::move(b).build();
  if (auto* err = (result ? nullptr : &result.error())) throw std::runtime_error(err->message);
  return std::move(result.value());
}

// The service on the host's loop: a configuration of the host's, HTTP on a
// free port, one run through the REST API, then the host's own stop.
asio::awaitable<bool> embed_service(asio::thread_pool& pool) {
  const auto ex = co_await asio::this_coro::executor;
  const auto home = std::filesystem::temp_directory_path() / ("cascadence-embed-" + std::to_string(::getpid()));
  std::filesystem::create_directories(home);
  // initialize(): the configuration file read as `task` reads it (remote
  // tasks and plugins included), and its graph run once on the host's loop.
  const auto config_file = home / "cascadence.yml";
  std::ofstream(config_file) << "storage_path: " << (home / "schedules.yml").string() << R"(
tasks:
  hello:
    echo: {greeting: hello from the service}
)";
  cascadence::service::initialize_options init;
  init.config_path = config_file;
  init.pool = &pool;
  init.warn = [](const std::string& line) { std::cerr << "host: warning: " << line << std::endl; };
  auto ready = cascadence::service::initialize(init);
  {
    engine::run_options run;
    run.pool = &pool;
    const engine::task_id target = *ready.graph->find("hello");
    const auto report = co_await engine::run_graph(*ready.graph, std::span<const engine::task_id>(&target, 1), run);
    for (const auto& r : report.records) {
      std::cout << "initialize: " << ready.graph->name(r.task) << ' ' << engine::to_string(r.status) << ' '
                << boost::json::serialize(r.output) << std::endl;
    }
  }
  auto cfg = std::move(ready.cfg);
  cascadence::service::runtime_options options;
  options.listen.port = 0;
  std::ostringstream log;  // the service's log lines, kept by the host
  cascadence::service::runtime service(ex, pool, std::move(cfg), options, log);
  service.start();
  std::cout << "service: listening on 127.0.0.1, port chosen" << std::endl;
  cascadence::net::http_client client(ex);
  auto reply =
      co_await client.post("http://127.0.0.1:" + std::to_string(service.port()) + "/api/v1/tasks/hello/runs?wait=true",
                           "", "application/json");
  bool ok = false;
  if (reply && reply->status == 200) {
    const auto run = boost::json::parse(reply->body);
    std::cout << "service: run " << boost::json::serialize(run.at("status")) << ' '
              << boost::json::serialize(run.at("tasks").at(0).at("output")) << std::endl;
    ok = run.at("status") == "success";
  } else {
    std::cout << "service: the API did not answer the run" << std::endl;
  }
  co_await service.stop(std::chrono::seconds(5), "host shutdown");
  std::cout << "host: service stopped" << std::endl;
  std::filesystem::remove_all(home);
  co_return ok;
}

}  // namespace

int main() {
  asio::io_context io;        // the host's loop
  asio::thread_pool pool(1);  // the host's choice of blocking capacity
  const auto graph = make_graph();
  bool stop = false;

  // The host's own rule for its coroutines: an escaped exception is
  // reported and fails the program, never dropped.
  int status = 1;
  const auto report_failure = [&](const std::exception_ptr& e) {
    if (!e) return;
    status = 1;
    stop = true;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& x) {
      std::cerr << "host: " << x.what() << std::endl;
    }
  };
  asio::co_spawn(io, heartbeat(stop), report_failure);
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        std::cout << "host: starting the graph" << std::endl;
        engine::run_options options;
        options.pool = &pool;
        const engine::task_id target = *graph.find("report");
        auto report =
            co_await engine::run_graph(graph, std::span<const engine::task_id>(&target, 1), std::move(options));
        for (const auto& r : report.records) {
          std::cout << "graph: " << graph.name(r.task) << ' ' << engine::to_string(r.status) << ' '
                    << boost::json::serialize(r.output) << std::endl;
        }
        std::cout << "host: graph finished" << std::endl;
        const bool service_ok = co_await embed_service(pool);
        status = report.succeeded() && service_ok ? 0 : 1;
        stop = true;
      },
      report_failure);
  io.run();
  return status;
}

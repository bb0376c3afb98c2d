// The temporal-start workload: workflows started and awaited through our
// Temporal HTTP-API client (adapters/temporal), `max_concurrency` (default
// 16) in flight on one loop thread. It needs a real cluster and a worker
// serving the `hello` workflow on the task queue: scripts/bench-temporal
// starts the dev server's worker and runs the Python SDK's client on the same
// workload, for the ratio. Without --temporal-http (or TEMPORAL_HTTP_ADDRESS)
// the scenario is skipped with a message.

#include "adapters/temporal/temporal_client.hpp"
#include "bench/scenario.hpp"
#include "bench/stopwatch.hpp"
#include "engine/run_id.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/value.hpp>

#include <stdexcept>

namespace cascadence::bench {

namespace asio = boost::asio;
namespace temporal = adapters::temporal;

namespace {

struct progress final {
  std::size_t next = 0;
  std::size_t done = 0;
  std::string first_error;
};

asio::awaitable<void> starter(temporal::client& c, const bench_config& config, const std::string& prefix, progress& p) {
  while (p.next < config.temporal_runs && p.first_error.empty()) {
    temporal::start_request req;
    req.workflow_id = prefix + std::to_string(p.next++);
    req.workflow_type = "hello";
    req.task_queue = config.temporal_queue;
    req.args.emplace_back(nullptr);
    req.request_id = engine::run_id::derived(req.workflow_id).to_string();
    auto started = co_await c.start(req);
    if (!started) {
      p.first_error = started.error().message;
      co_return;
    }
    auto closed = co_await c.await_close(*started);
    if (!closed || closed->status != temporal::close_status::completed) {
      p.first_error = closed ? "workflow " + req.workflow_id + " " + std::string(temporal::to_string(closed->status))
                             : closed.error().message;
      co_return;
    }
    ++p.done;
  }
}

}  // namespace

scenario_result run_temporal_start(const bench_config& config) {
  if (config.temporal_http.empty()) {
    throw scenario_skipped(
        "needs a Temporal dev server and worker: run scripts/bench-temporal, or give "
        "--temporal-http URL (TEMPORAL_HTTP_ADDRESS) with a worker serving `hello` on --temporal-queue");
  }
  scenario_result result;
  result.scenario = "temporal-start";
  result.tasks = config.temporal_runs;
  temporal::settings s;
  s.http_address = config.temporal_http;
  s.task_queue = config.temporal_queue;
  s.ns = config.temporal_namespace;
  const std::size_t concurrency = config.max_concurrency != 0 ? config.max_concurrency : 16;

  asio::io_context io(1);
  temporal::client c(io.get_executor(), s);
  progress p;
  const auto prefix = "bench-" + engine::run_id::random().to_string() + "-";
  for (std::size_t i = 0; i < concurrency; ++i) asio::co_spawn(io, starter(c, config, prefix, p), asio::detached);
  stopwatch clock;
  io.run();
  result.seconds = clock.seconds();
  result.cpu_seconds = clock.cpu_seconds();
  if (!p.first_error.empty()) {
    throw std::runtime_error(std::to_string(p.done) + " of " + std::to_string(config.temporal_runs) +
                             " workflows completed; first error: " + p.first_error);
  }
  result.extra.emplace_back("concurrency", static_cast<double>(concurrency));
  result.extra.emplace_back("workflows_per_second",
                            result.seconds > 0 ? static_cast<double>(result.tasks) / result.seconds : 0.0);
  return result;
}

}  // namespace cascadence::bench

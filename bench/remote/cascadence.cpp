// The remote workload: runs of one task of a remote plugin server (protocol
// v1, docs/plugins.md) through the engine and the cronyx client, over
// keep-alive HTTP on loopback. The server is whatever real one the caller
// names (--remote-url or CRONYX_BASE_URL): the Go example, or the Python
// test server (tests/e2e/cronyx_test_server.py). Client-side CPU is in
// cpu_seconds; the loop is one thread, so runs/s per client core is
// tasks / cpu_seconds.

#include "adapters/cronyx/cronyx_client.hpp"
#include "adapters/cronyx/remote_processor.hpp"
#include "bench/engine_run.hpp"
#include "bench/scenario.hpp"
#include "bench/stopwatch.hpp"
#include "engine/graph.hpp"
#include "engine/runner.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <stdexcept>

namespace cascadence::bench {

namespace asio = boost::asio;
namespace cronyx = adapters::cronyx;

scenario_result run_remote(const bench_config& config) {
  if (config.remote_url.empty()) {
    throw std::runtime_error("the remote scenario needs a server: --remote-url URL or CRONYX_BASE_URL");
  }
  auto url = cronyx::normalize_base_url(config.remote_url);
  if (!url) throw std::runtime_error("--remote-url: " + url.error().message);
  scenario_result result;
  result.scenario = "remote";
  result.tasks = config.remote_runs;
  cronyx::settings s;
  s.base_url = std::move(url).value();
  const std::size_t concurrency = config.max_concurrency != 0 ? config.max_concurrency : 16;
  s.max_idle = concurrency;
  const auto srv = std::make_shared<cronyx::server>(s);
  const auto proc = cronyx::make_remote_processor(srv, config.remote_task, nullptr);
  const auto g = build_graph(
      [&](engine::graph_builder& builder) {
        builder.reserve(config.remote_runs, 0);
        for (std::size_t i = 0; i < config.remote_runs; ++i) builder.add({task_name(i), proc, {}});
      },
      result);
  std::vector<engine::task_id> targets(g.size());
  for (engine::task_id id = 0; id < g.size(); ++id) targets[id] = id;

  asio::io_context io(1);
  engine::run_options options;
  options.max_concurrency = concurrency;
  std::optional<engine::run_report> report;
  std::exception_ptr error;
  asio::co_spawn(io, engine::run_graph(g, targets, std::move(options)),
                 [&](std::exception_ptr e, engine::run_report r) {
                   error = e;
                   if (!e) report.emplace(std::move(r));
                 });
  stopwatch clock;
  io.run();
  result.seconds = clock.seconds();
  result.cpu_seconds = clock.cpu_seconds();
  if (error) std::rethrow_exception(error);
  if (!report) throw std::runtime_error("the run did not complete");
  std::size_t succeeded = 0;
  const engine::task_record* first_failure = nullptr;
  for (const auto& record : report->records) {
    if (record.status == engine::run_status::success) {
      ++succeeded;
    } else if (first_failure == nullptr) {
      first_failure = &record;
    }
  }
  if (first_failure != nullptr) {
    throw std::runtime_error(std::to_string(succeeded) + " of " + std::to_string(g.size()) +
                             " runs succeeded; first error: " + first_failure->error);
  }
  result.extra.emplace_back("concurrency", static_cast<double>(concurrency));
  result.extra.emplace_back("runs_per_client_cpu_second",
                            result.cpu_seconds > 0 ? static_cast<double>(result.tasks) / result.cpu_seconds : 0.0);
  return result;
}

}  // namespace cascadence::bench

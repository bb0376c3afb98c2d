#include "bench/engine_run.hpp"

#include "bench/heap_usage.hpp"
#include "bench/stopwatch.hpp"
#include "engine/builtin_processors.hpp"
#include "engine/processor.hpp"
#include "engine/runner.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include <exception>
#include <optional>
#include <stdexcept>
#include <variant>
#include <vector>

namespace cascadence::bench {

namespace asio = boost::asio;

namespace {
// With blocking tasks, this many per pool thread keep the pool busy without
// a worker coroutine per ready task.
constexpr std::size_t blocking_tasks_per_thread = 8;
}  // namespace

std::shared_ptr<engine::processor> empty_task_processor(const bench_config& config) {
  if (config.threads == 0) return engine::make_noop_processor();
  return engine::make_blocking_processor([](engine::task_context&) { return engine::outcome::success(); });
}

std::string task_name(std::size_t index) {
  return "task-" + std::to_string(index);
}

engine::graph tasks_of(const std::shared_ptr<engine::processor>& proc, std::size_t count, bool chained,
                       scenario_result& result) {
  return build_graph(
      [&](engine::graph_builder& builder) {
        builder.reserve(count, chained ? count : 0);
        for (std::size_t i = 0; i < count; ++i) {
          const auto id = builder.add({task_name(i), proc, {}});
          if (chained && i > 0) builder.add_dependency(id, id - 1);
        }
      },
      result);
}

engine::graph build_graph(const std::function<void(engine::graph_builder&)>& fill, scenario_result& result) {
  const auto before = heap_in_use_bytes();
  stopwatch clock;
  engine::graph g;
  {
    engine::graph_builder builder;
    fill(builder);
    auto built = std::move(builder).build();
    if (const auto* error = (built ? nullptr : &built.error())) throw std::runtime_error(error->message);
    g = std::move(built.value());
  }
  result.build_seconds = clock.seconds();
  // Measured once the builder and its scratch space are gone: what remains
  // is what the graph keeps for as long as it lives.
  const auto held = static_cast<double>(heap_in_use_bytes()) - static_cast<double>(before);
  result.graph_bytes_per_node = g.size() == 0 ? 0.0 : held / static_cast<double>(g.size());
  return g;
}

void run_engine(const engine::graph& g, const bench_config& config, scenario_result& result) {
  std::vector<engine::task_id> targets;
  for (engine::task_id id = 0; id < g.size(); ++id) {
    if (g.dependents(id).empty()) targets.push_back(id);
  }

  asio::io_context io(1);
  std::optional<asio::thread_pool> pool;
  engine::run_options options;
  options.max_concurrency = config.max_concurrency;
  if (config.threads > 0) {
    pool.emplace(config.threads);
    options.pool = &*pool;
    if (options.max_concurrency == 0) options.max_concurrency = blocking_tasks_per_thread * config.threads;
  }

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
  if (pool) pool->join();

  if (error) std::rethrow_exception(error);
  if (!report) throw std::runtime_error("the run did not complete");
  std::size_t succeeded = 0;
  for (const auto& record : report->records) succeeded += record.status == engine::run_status::success ? 1 : 0;
  if (succeeded != g.size()) {
    throw std::runtime_error(std::to_string(succeeded) + " of " + std::to_string(g.size()) + " tasks succeeded");
  }
}

}  // namespace cascadence::bench

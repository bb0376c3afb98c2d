// The cost of answering GET /metrics: metrics::render() of a registry
// holding the series of --metrics-tasks tasks as `task serve` would after
// running them. Each task has succeeded and failed (latency histogram,
// success and failure counters, runs by status, running and last-success
// gauges); with --metrics-schedules it was also fired by the scheduler
// (fires counter, lateness histogram, next-fire gauge). The series are fed
// through the observers the engine and the scheduler call.

#include "adapters/metrics/metrics.hpp"
#include "bench/scenario.hpp"
#include "bench/stopwatch.hpp"
#include "engine/builtin_processors.hpp"
#include "engine/graph.hpp"
#include "engine/observer.hpp"
#include "engine/runner.hpp"
#include "scheduling/cron_scheduler.hpp"

#include <algorithm>
#include <chrono>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

namespace cascadence::bench {

namespace {

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  const auto k = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

engine::graph task_graph(std::size_t tasks) {
  engine::graph_builder builder;
  auto echo = engine::make_echo_processor("tick");
  for (std::size_t i = 0; i < tasks; ++i) builder.add({"task-" + std::to_string(i), echo, {}});
  auto built = std::move(builder).build();
  if (const auto* error = (built ? nullptr : &built.error())) throw std::runtime_error(error->message);
  return std::move(built.value());
}

// Two successful runs and one failed run of every task, with latencies
// spread over the histogram's buckets, and one fire of each schedule.
void fill(adapters::metrics::metrics& m, const engine::graph& g, bool schedules_too) {
  using namespace std::chrono_literals;
  auto& runs = m.engine_observer();
  auto& schedules = m.scheduler_observer();
  const auto now = std::chrono::system_clock::now();
  const auto nominal = std::chrono::time_point_cast<std::chrono::seconds>(now);
  for (engine::task_id id = 0; id < g.size(); ++id) {
    for (int attempt = 0; attempt < 3; ++attempt) {
      engine::task_record record;
      record.task = id;
      record.status = attempt == 2 ? engine::run_status::failed : engine::run_status::success;
      record.attempts = 1;
      record.started = now;
      record.finished = now + std::chrono::milliseconds(3 + (id * 37 + static_cast<unsigned>(attempt) * 911) % 20000);
      runs.on_task_started(g, record, 1);
      runs.on_task_finished(g, record);
    }
    if (!schedules_too) continue;
    const std::string name(g.name(id));
    schedules.on_fire(name, nominal, std::chrono::microseconds(200 + id % 5000), engine::run_id::random());
    schedules.on_next_fire(name, nominal + 60s);
  }
}

}  // namespace

scenario_result run_metrics_render(const bench_config& config) {
  const auto g = task_graph(config.metrics_tasks);
  adapters::metrics::metrics m;
  scenario_result result;
  result.scenario = config.metrics_schedules ? "metrics-render-schedules" : "metrics-render";
  stopwatch build_clock;
  fill(m, g, config.metrics_schedules);
  result.build_seconds = build_clock.seconds();

  std::string text;
  std::vector<double> ms;
  ms.reserve(config.metrics_renders);
  stopwatch clock;
  for (std::size_t i = 0; i < config.metrics_renders; ++i) {
    stopwatch one;
    auto rendered = m.render();
    ms.push_back(one.seconds() * 1e3);
    text = std::move(rendered);  // the previous text is freed outside the timing
  }
  result.seconds = clock.seconds();
  result.cpu_seconds = clock.cpu_seconds();
  const auto bytes = text.size();
  const auto lines = static_cast<std::size_t>(std::count(text.begin(), text.end(), '\n'));
  result.tasks = config.metrics_renders;
  result.extra = {{"series_tasks", static_cast<double>(config.metrics_tasks)},
                  {"render_bytes", static_cast<double>(bytes)},
                  {"render_lines", static_cast<double>(lines)},
                  {"render_p50_ms", percentile(ms, 0.5)},
                  {"render_p99_ms", percentile(ms, 0.99)},
                  {"render_max_ms", *std::max_element(ms.begin(), ms.end())}};
  return result;
}

}  // namespace cascadence::bench

// The sleep workload through the engine: independent tasks that each wait
// on a timer, all at once. Measures how cheaply the engine holds many
// suspended tasks (time and memory), not the throughput of empty ones.

#include "bench/engine_run.hpp"
#include "bench/scenario.hpp"
#include "engine/builtin_processors.hpp"
#include "engine/graph.hpp"

namespace cascadence::bench {

scenario_result run_sleep(const bench_config& config) {
  scenario_result result;
  result.scenario = "sleep";
  result.tasks = config.sleep_tasks;
  const auto proc = engine::make_sleep_processor(config.sleep_duration);
  const auto g = build_graph(
      [&](engine::graph_builder& builder) {
        builder.reserve(config.sleep_tasks, 0);
        for (std::size_t i = 0; i < config.sleep_tasks; ++i) builder.add({task_name(i), proc, {}});
      },
      result);
  // Sleeping is async by nature: --threads does not apply here.
  auto async_only = config;
  async_only.threads = 0;
  run_engine(g, async_only, result);
  return result;
}

}  // namespace cascadence::bench

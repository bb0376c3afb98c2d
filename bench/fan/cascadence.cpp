// The fan-out/fan-in workload through the engine: one source task, `width`
// tasks after it, one sink task after all of them.

#include "bench/engine_run.hpp"
#include "bench/scenario.hpp"
#include "engine/graph.hpp"

namespace cascadence::bench {

scenario_result run_fan(const bench_config& config) {
  scenario_result result;
  result.scenario = "fan";
  const auto width = config.fan_width;
  result.tasks = width + 2;
  const auto proc = empty_task_processor(config);
  const auto g = build_graph(
      [&](engine::graph_builder& builder) {
        builder.reserve(width + 2, 2 * width);
        const auto source = builder.add({task_name(0), proc, {}});
        const auto sink = builder.add({task_name(width + 1), proc, {}});
        for (std::size_t i = 1; i <= width; ++i) {
          const auto id = builder.add({task_name(i), proc, {}});
          builder.add_dependency(id, source);
          builder.add_dependency(sink, id);
        }
      },
      result);
  run_engine(g, config, result);
  return result;
}

}  // namespace cascadence::bench

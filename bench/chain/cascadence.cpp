// The chain workload through the engine: task i runs after task i-1.

#include "bench/engine_run.hpp"
#include "bench/scenario.hpp"
#include "engine/graph.hpp"

namespace cascadence::bench {

scenario_result run_chain(const bench_config& config) {
  scenario_result result;
  result.scenario = "chain";
  result.tasks = config.chain_length;
  const auto proc = empty_task_processor(config);
  const auto g = build_graph(
      [&](engine::graph_builder& builder) {
        builder.reserve(config.chain_length, config.chain_length);
        for (std::size_t i = 0; i < config.chain_length; ++i) {
          const auto id = builder.add({task_name(i), proc, {}});
          if (i > 0) builder.add_dependency(id, id - 1);
        }
      },
      result);
  run_engine(g, config, result);
  return result;
}

}  // namespace cascadence::bench

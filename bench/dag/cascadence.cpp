// The layered DAG workload through the engine.

#include "bench/dag/layered_dag.hpp"
#include "bench/engine_run.hpp"
#include "bench/scenario.hpp"
#include "engine/graph.hpp"

namespace cascadence::bench {

scenario_result run_dag(const bench_config& config) {
  const layered_dag dag(config.layers, config.width, config.seed);
  scenario_result result;
  result.scenario = "dag";
  result.tasks = dag.size();
  const auto proc = empty_task_processor(config);
  const auto g = build_graph(
      [&](engine::graph_builder& builder) {
        builder.reserve(dag.size(), dag.edges());
        for (std::size_t node = 0; node < dag.size(); ++node) {
          const auto id = builder.add({task_name(node), proc, {}});
          for (const auto dep : dag.dependencies(node)) builder.add_dependency(id, dep);
        }
      },
      result);
  run_engine(g, config, result);
  return result;
}

}  // namespace cascadence::bench

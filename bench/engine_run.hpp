#pragma once

// Shared by the engine's side of every workload: build a graph while
// counting its heap bytes, then run it with run_graph, timing only the run.

#include "bench/scenario.hpp"
#include "engine/graph.hpp"

#include <functional>
#include <memory>

namespace cascadence::engine {
class processor;
}

namespace cascadence::bench {

/// The processor of an empty task: the engine's noop processor, or with
/// --threads a blocking processor that returns at once (run on the pool).
[[nodiscard]] std::shared_ptr<engine::processor> empty_task_processor(const bench_config& config);

/// The name of task `index` in the benchmark graphs.
[[nodiscard]] std::string task_name(std::size_t index);

/// Builds a graph with `fill` (which adds tasks and edges), recording the
/// build time and the heap bytes the finished graph holds per task.
/// Throws std::runtime_error when the graph is invalid.
[[nodiscard]] engine::graph build_graph(const std::function<void(engine::graph_builder&)>& fill,
                                        scenario_result& result);

/// `count` tasks of `proc`, each after the previous one when `chained`, else independent (build_graph()).
[[nodiscard]] engine::graph tasks_of(const std::shared_ptr<engine::processor>& proc, std::size_t count, bool chained,
                                     scenario_result& result);

/// Runs every task of `g` (all sinks as targets) with run_graph on a
/// one-thread io_context and records the run time and heap growth. Throws
/// std::runtime_error unless every task succeeded.
void run_engine(const engine::graph& g, const bench_config& config, scenario_result& result);

}  // namespace cascadence::bench

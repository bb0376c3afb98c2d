// The plugin-chain workload: the chain of `plugin_chain_length` no-op tasks through the C ABI in this process
// (bench.noop, completing inside start()), against the same chain of built-in immediate no-op tasks.

#include "bench/engine_run.hpp"
#include "bench/scenario.hpp"
#include "engine/builtin_processors.hpp"
#include "engine/graph.hpp"
#include "plugins/in_process_provider.hpp"
#include "plugins/library.hpp"

#include <boost/json/value.hpp>

#include <unistd.h>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

namespace cascadence::bench {

scenario_result run_plugin_chain(const bench_config& config) {
  const auto cache =
      std::filesystem::temp_directory_path() / ("cascadence-bench-plugins-" + std::to_string(::getpid()));
  auto file = plugins::stage(config.plugin_path, cache);
  if (!file) throw std::runtime_error(file.error());
  auto provider = plugins::make_in_process_provider(file.value(), {});
  std::filesystem::remove_all(cache);
  if (!provider) throw std::runtime_error(provider.error());
  auto proc = provider.value()->make_processor(provider.value()->descriptor().processors.at(0), nullptr);
  if (!proc) throw std::runtime_error(proc.error());
  auto async_proc = provider.value()->make_processor(provider.value()->descriptor().processors.at(1), nullptr);
  if (!async_proc) throw std::runtime_error(async_proc.error());

  bench_config one_thread = config;
  one_thread.threads = 0;
  scenario_result builtin;
  const auto builtin_graph = tasks_of(engine::make_noop_processor(), config.plugin_chain_length, true, builtin);
  // Once unmeasured first: the scenario starts from a trimmed heap, and whichever chain ran first would pay
  // for faulting the run's memory in.
  scenario_result warm_up;
  run_engine(builtin_graph, one_thread, warm_up);
  run_engine(builtin_graph, one_thread, builtin);

  scenario_result result;
  result.scenario = "plugin-chain";
  result.tasks = config.plugin_chain_length;
  const auto plugin_graph = tasks_of(proc.value(), config.plugin_chain_length, true, result);
  run_engine(plugin_graph, one_thread, result);

  scenario_result async;
  async.tasks = config.plugin_chain_length;
  const auto async_graph = tasks_of(async_proc.value(), config.plugin_chain_length, true, async);
  run_engine(async_graph, one_thread, async);

  const auto per_task = [](const scenario_result& r) {
    return r.seconds * 1e9 / static_cast<double>(r.tasks == 0 ? 1 : r.tasks);
  };
  builtin.tasks = config.plugin_chain_length;
  const double plugin_ns = per_task(result);
  const double builtin_ns = per_task(builtin);
  result.ratio_to_baseline = builtin_ns > 0 ? plugin_ns / builtin_ns : 0.0;
  result.extra.emplace_back("builtin_ns_per_task", builtin_ns);
  result.extra.emplace_back("plugin_ns_per_task", plugin_ns);
  // The same no-op without "immediate": a coroutine and the host's run table per attempt.
  result.extra.emplace_back("async_plugin_ns_per_task", per_task(async));
  return result;
}

}  // namespace cascadence::bench

// The plugin-isolated workload: runs of the no-op plugin (bench.noop) loaded with isolation: process, so each
// attempt is a start frame to a cascadence-plugin-host child and a complete frame back. Two shapes of
// `plugin_isolated_runs` runs: one after the other (a chain: the round trip's latency, the per-run cost the
// issue asks for) and independent with 16 in flight (the pipe's throughput). The baseline is the same chain
// through the same plugin in-process.

#include "bench/engine_run.hpp"
#include "bench/scenario.hpp"
#include "engine/graph.hpp"
#include "plugins/in_process_provider.hpp"
#include "plugins/isolated/isolated_provider.hpp"
#include "plugins/library.hpp"

#include <boost/json/value.hpp>

#include <unistd.h>
#include <filesystem>
#include <stdexcept>

namespace cascadence::bench {

namespace {

std::shared_ptr<engine::processor> noop_of(const core::result<std::shared_ptr<plugins::provider>, std::string>& p) {
  if (!p) throw std::runtime_error(p.error());
  auto proc = p.value()->make_processor(p.value()->descriptor().processors.at(0), nullptr);
  if (!proc) throw std::runtime_error(proc.error());
  return proc.value();
}

double ns_per_task(const scenario_result& r) {
  return r.seconds * 1e9 / static_cast<double>(r.tasks == 0 ? 1 : r.tasks);
}

}  // namespace

scenario_result run_plugin_isolated(const bench_config& config) {
  const auto cache =
      std::filesystem::temp_directory_path() / ("cascadence-bench-isolated-" + std::to_string(::getpid()));
  auto file = plugins::stage(config.plugin_path, cache);
  if (!file) throw std::runtime_error(file.error());
  // The host program: beside this executable, or $CASCADENCE_PLUGIN_HOST.
  auto isolated = noop_of(plugins::make_isolated_provider(file.value(), {}));
  auto in_process = noop_of(plugins::make_in_process_provider(file.value(), {}));
  std::filesystem::remove_all(cache);
  const auto runs = config.plugin_isolated_runs;

  bench_config one_thread = config;
  one_thread.threads = 0;
  one_thread.max_concurrency = 0;
  scenario_result baseline;
  baseline.tasks = runs;
  run_engine(tasks_of(in_process, runs, true, baseline), one_thread, baseline);

  scenario_result result;
  result.scenario = "plugin-isolated";
  result.tasks = runs;
  run_engine(tasks_of(isolated, runs, true, result), one_thread, result);

  bench_config sixteen = one_thread;
  sixteen.max_concurrency = 16;
  scenario_result parallel;
  parallel.tasks = runs;
  run_engine(tasks_of(isolated, runs, false, parallel), sixteen, parallel);

  const double isolated_ns = ns_per_task(result);
  const double in_process_ns = ns_per_task(baseline);
  result.ratio_to_baseline = in_process_ns > 0 ? isolated_ns / in_process_ns : 0.0;
  result.extra.emplace_back("in_process_ns_per_run", in_process_ns);
  result.extra.emplace_back("isolated_ns_per_run", isolated_ns);
  result.extra.emplace_back("isolated_runs_per_second_16_in_flight",
                            parallel.seconds > 0 ? static_cast<double>(runs) / parallel.seconds : 0.0);
  return result;
}

}  // namespace cascadence::bench

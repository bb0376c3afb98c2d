#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace cascadence::bench {

/// Sizes and modes of one invocation, from the command line.
struct bench_config final {
  std::size_t chain_length = 1'000'000;
  std::size_t fan_width = 1'000'000;
  std::size_t layers = 1000;
  std::size_t width = 1000;
  std::uint64_t seed = 42;
  std::size_t sleep_tasks = 100'000;
  std::chrono::milliseconds sleep_duration{10};
  /// 0: empty async tasks on the loop thread. N > 0: empty blocking tasks
  /// run on a thread pool of N threads (the loop stays one thread).
  unsigned threads = 0;
  /// Passed to run_options::max_concurrency; 0 = the default of the mode.
  std::size_t max_concurrency = 0;
  /// next_fire() calls in the cron-next scenario.
  std::size_t cron_computations = 2'000'000;
  /// Schedules in the small and the large cron-lateness scenarios.
  std::size_t cron_small = 100;
  std::size_t cron_large = 10'000;
  /// How long the cron-lateness scenarios let schedules fire.
  std::chrono::milliseconds cron_duration{std::chrono::seconds(10)};
  /// Tasks whose series fill the registry in metrics-render.
  std::size_t metrics_tasks = 1000;
  /// render() calls timed in metrics-render.
  std::size_t metrics_renders = 200;
  /// metrics-render: every task also has the series of a schedule.
  bool metrics_schedules = false;
  /// remote: the server (--remote-url, else CRONYX_BASE_URL), the task it
  /// runs and how many runs; max_concurrency (default 16) runs at once.
  std::string remote_url;
  std::string remote_task = "noop";
  std::size_t remote_runs = 10'000;
  /// Tasks of the plugin-chain scenario, and the no-op plugin it loads.
  std::size_t plugin_chain_length = 100'000;
  std::string plugin_path;
  /// Runs of each shape in the plugin-isolated scenario.
  std::size_t plugin_isolated_runs = 10'000;
  /// temporal-start: the frontend's HTTP API (--temporal-http, else
  /// TEMPORAL_HTTP_ADDRESS), namespace, task queue and how many workflows.
  std::string temporal_http;
  std::string temporal_namespace = "default";
  std::string temporal_queue = "cascadence-bench";
  std::size_t temporal_runs = 500;
  /// events: the NATS server (--nats-url, else NATS_URL) and how many runs.
  std::string nats_url;
  std::size_t events_runs = 100'000;
  /// events: the emitter's queue (events.queue_size).
  std::size_t events_queue = 10'000;
};

/// A scenario that cannot run here (a service it needs is absent): reported
/// as skipped with its reason, not as a failure.
class scenario_skipped final : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// What one run of one scenario measured. `seconds` covers the run only;
/// building the graph is timed separately.
struct scenario_result final {
  std::string scenario;
  std::size_t tasks = 0;
  double seconds = 0;
  /// CPU time of the process during the run (pool threads included).
  double cpu_seconds = 0;
  double build_seconds = 0;
  /// Heap bytes the built graph holds, per task (engine scenarios only).
  std::optional<double> graph_bytes_per_node;
  /// Peak RSS of the process while the scenario ran (build included).
  std::size_t peak_rss_bytes = 0;
  /// ns_per_task over the bare-Asio baseline's, when one ran before.
  std::optional<double> ratio_to_baseline;
  /// Scenario-specific figures (lateness percentiles, ...), in this order.
  std::vector<std::pair<std::string, double>> extra;
};

/// Runs of one immediate task with events off, then with events over NATS (bench/events).
[[nodiscard]] scenario_result run_events(const bench_config& config);
/// A chain of `plugin_chain_length` no-op plugin tasks (in-process, through the C ABI) and the same chain of
/// built-in immediate tasks; ratio_to_baseline is the plugin's ns_per_task over the built-in's.
[[nodiscard]] scenario_result run_plugin_chain(const bench_config& config);
/// `plugin_isolated_runs` runs of the no-op plugin under isolation: process, chained and then 16 in flight;
/// ratio_to_baseline is the chained ns_per_task over the same chain in-process.
[[nodiscard]] scenario_result run_plugin_isolated(const bench_config& config);
/// `temporal_runs` `hello` workflows started and awaited through the Temporal client, max_concurrency at once.
[[nodiscard]] scenario_result run_temporal_start(const bench_config& config);
/// A chain of `chain_length` empty tasks, each after the previous one.
[[nodiscard]] scenario_result run_chain(const bench_config& config);
/// One empty task, `fan_width` after it, one after all of those.
[[nodiscard]] scenario_result run_fan(const bench_config& config);
/// The layered DAG (see layered_dag.hpp) through the engine.
[[nodiscard]] scenario_result run_dag(const bench_config& config);
/// The same layered DAG as posted lambdas with in-degree counters.
[[nodiscard]] scenario_result run_dag_asio(const bench_config& config);
/// `sleep_tasks` independent tasks each sleeping `sleep_duration`.
[[nodiscard]] scenario_result run_sleep(const bench_config& config);
/// next_fire() for a mix of expressions and zones; `tasks` counts the calls.
[[nodiscard]] scenario_result run_cron_next_fire(const bench_config& config);
/// `schedules` schedules of `* * * * * *` firing echo tasks through the
/// engine for `cron_duration`; `tasks` counts the fires, `extra` has the
/// lateness percentiles (actual run start minus nominal time).
[[nodiscard]] scenario_result run_cron_lateness(const bench_config& config, std::size_t schedules);
/// metrics::render() of a registry holding the run series (and with
/// `metrics_schedules` the schedule series) of `metrics_tasks` tasks,
/// `metrics_renders` times; `tasks` counts the renders, `extra` has their
/// percentiles and the size of the text.
[[nodiscard]] scenario_result run_metrics_render(const bench_config& config);

/// `remote_runs` runs of `remote_task` on the server at `remote_url`, at
/// most max_concurrency at once, over keep-alive HTTP.
[[nodiscard]] scenario_result run_remote(const bench_config& config);

}  // namespace cascadence::bench

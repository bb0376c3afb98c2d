// cascadence-bench: runs the benchmark scenarios through the real engine
// (and the bare-Asio baseline), one JSON line per run on stdout, a table
// for humans on stderr. With --serve it is instead one of the HTTP servers
// that scripts/bench-http loads with wrk.

#include "bench/http/serve.hpp"
#include "bench/json_line.hpp"
#include "bench/peak_rss.hpp"
#include "bench/scenario.hpp"

#include <boost/program_options.hpp>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace po = boost::program_options;
using namespace cascadence::bench;

namespace {

struct scenario final {
  std::string_view name;
  scenario_result (*run)(const bench_config&);
  /// Part of `all`; the remote scenario needs a server and is asked for by name.
  bool in_all = true;
};

// The baseline runs before the engine's DAG so that line can carry the ratio.
scenario_result run_cron_small(const bench_config& c) {
  return run_cron_lateness(c, c.cron_small);
}
scenario_result run_cron_large(const bench_config& c) {
  return run_cron_lateness(c, c.cron_large);
}

constexpr std::array all_scenarios{
    scenario{"chain", run_chain},
    scenario{"plugin-chain", run_plugin_chain},
    scenario{"plugin-isolated", run_plugin_isolated},
    scenario{"fan", run_fan},
    scenario{"dag-asio", run_dag_asio},
    scenario{"dag", run_dag},
    scenario{"sleep", run_sleep},
    scenario{"cron-next", run_cron_next_fire},
    scenario{"cron-lateness-small", run_cron_small},
    scenario{"cron-lateness-large", run_cron_large},
    scenario{"metrics-render", run_metrics_render},
    scenario{"remote", run_remote, false},
    scenario{"temporal-start", run_temporal_start, false},
    scenario{"events", run_events, false},
};

constexpr std::string_view usage_intro =
    "usage: cascadence-bench [options]\n"
    "\n"
    "Runs scenarios of empty tasks through the engine (run_graph) and prints one\n"
    "JSON line per run on stdout and a table on stderr. Time is measured around\n"
    "the run only; building the graph is reported apart (build_seconds). On a\n"
    "busy machine cpu_seconds (process CPU time during the run) is steadier.\n"
    "Each scenario starts from a trimmed heap (malloc_trim), so its memory is\n"
    "faulted in fresh, as in a new process, and its peak RSS is its own.\n"
    "\n"
    "Scenarios (all by default, in this order):\n"
    "  chain     a chain of --chain tasks, each after the previous one\n"
    "  plugin-chain\n"
    "            --plugin-chain no-op tasks of an in-process native plugin (--plugin) in a\n"
    "            chain, and the same chain of built-in no-op tasks; ratio_to_baseline is\n"
    "            the plugin's ns_per_task over the built-in's\n"
    "  plugin-isolated\n"
    "            --plugin-isolated runs of the same plugin under isolation: process\n"
    "            (cascadence-plugin-host), chained and then 16 in flight; ratio_to_baseline\n"
    "            is the chained ns_per_task over the same chain in-process\n"
    "  fan       1 task, then --fan tasks after it, then 1 task after all of them\n"
    "  dag-asio  the layered DAG as lambdas posted to an io_context, with in-degree\n"
    "            counters: the bare-Asio baseline\n"
    "  dag       --layers layers of --width tasks, each task after 2 tasks of the\n"
    "            previous layer drawn with --seed; ratio_to_baseline compares its\n"
    "            ns_per_task with dag-asio's from the same repetition\n"
    "  sleep     --sleep-tasks independent tasks, all sleeping --sleep-ms at once\n"
    "  cron-next next-fire computations (--cron-computations) for 12 expressions in\n"
    "            4 zones, each schedule chained from its previous fire; tasks = calls\n"
    "  cron-lateness-small, cron-lateness-large\n"
    "            --cron-small / --cron-large schedules of `* * * * * *` firing echo\n"
    "            tasks through the cron scheduler and the engine for --cron-seconds;\n"
    "            tasks = fires, lateness_p50_ms/p99_ms = run start minus nominal time\n"
    "  metrics-render\n"
    "            metrics::render() (the body of GET /metrics) of a registry holding the\n"
    "            series of --metrics-tasks tasks that ran (latency histogram, success\n"
    "            and failure counters, runs by status, running and last-success\n"
    "            gauges), and with --metrics-schedules their schedule series too,\n"
    "            rendered --metrics-renders times; tasks = renders,\n"
    "            render_p50_ms/p99_ms per render\n"
    "  events    --events-runs runs of one immediate task, 16 at once, with events off\n"
    "            and then sent over NATS (--nats-url or NATS_URL; asked for by name);\n"
    "            ratio_to_baseline = time per run with events / without; events_dropped\n"
    "            counts what did not fit the queue (--events-queue)\n"
    "\n"
    "Threads: by default (--threads 0) everything runs on one thread and tasks are\n"
    "the engine's async no-op processor. With --threads N the chain, fan and DAG\n"
    "tasks become blocking no-op processors run on an asio::thread_pool of N\n"
    "threads while the graph stays on the one loop thread: this measures the\n"
    "hand-off to the pool and back, and dag-asio does the same hand-off with bare\n"
    "posts. At most --max-concurrency tasks are in flight (default 8 x N).\n"
    "The sleep scenario is async by nature and ignores --threads.\n"
    "\n"
    "HTTP servers: --serve http-baseline (a bare Beast coroutine server) or\n"
    "--serve http-webhook (the webhook routes on Cascadence's HTTP server; with\n"
    "http-webhook-journal each 202 also waits for the webhook journal's commit) serves\n"
    "on --host:--port (0: a free port) on one thread, prints `listening on\n"
    "http://HOST:PORT`, and after SIGINT/SIGTERM one JSON line of counters. They\n"
    "run no scenario: scripts/bench-http starts both and loads them with wrk.\n"
    "\n"
    "Exit status: 0 when every run completed with every task successful, 1 when a\n"
    "run failed, 2 on a usage error.\n"
    "\n"
    "Options";

std::optional<std::vector<scenario>> select(const std::vector<std::string>& names) {
  std::vector<std::string> wanted;
  for (const auto& list : names) {
    std::stringstream in(list);
    for (std::string name; std::getline(in, name, ',');) {
      if (!name.empty()) wanted.push_back(name);
    }
  }
  std::vector<scenario> out;
  for (const auto& s : all_scenarios) {
    for (const auto& name : wanted) {
      if ((name == "all" && s.in_all) || name == s.name) {
        out.push_back(s);
        break;
      }
    }
  }
  for (const auto& name : wanted) {
    bool known = name == "all";
    for (const auto& s : all_scenarios) known = known || name == s.name;
    if (!known) {
      std::cerr << "error: unknown scenario '" << name << "' (see --help)\n";
      return std::nullopt;
    }
  }
  return out;
}

double ns_per_task(const scenario_result& r) {
  return r.tasks == 0 ? 0.0 : r.seconds * 1e9 / static_cast<double>(r.tasks);
}

std::string to_json(const scenario_result& r, const bench_config& config, unsigned repeat) {
  json_line line;
  line.field("scenario", r.scenario)
      .field("tasks", static_cast<std::uint64_t>(r.tasks))
      .field("seconds", r.seconds)
      .field("tasks_per_s", r.seconds > 0 ? static_cast<double>(r.tasks) / r.seconds : 0.0)
      .field("ns_per_task", ns_per_task(r), 4)
      .field("peak_rss_bytes", static_cast<std::uint64_t>(r.peak_rss_bytes));
  if (r.graph_bytes_per_node) line.field("graph_bytes_per_node", *r.graph_bytes_per_node, 4);
  if (r.ratio_to_baseline) line.field("ratio_to_baseline", *r.ratio_to_baseline, 3);
  for (const auto& [key, value] : r.extra) line.field(key, value, 5);
  line.field("cpu_seconds", r.cpu_seconds)
      .field("build_seconds", r.build_seconds)
      .field("threads", static_cast<std::uint64_t>(config.threads))
      .field("repeat", static_cast<std::uint64_t>(repeat));
  return line.str();
}

void print_header() {
  std::fprintf(stderr, "%-9s %10s %9s %12s %9s %9s %9s %7s\n", "scenario", "tasks", "seconds", "tasks/s", "ns/task",
               "RSS MB", "graph B/n", "x asio");
}

void print_row(const scenario_result& r) {
  char graph[16] = "-";
  char ratio[16] = "-";
  if (r.graph_bytes_per_node) std::snprintf(graph, sizeof graph, "%.1f", *r.graph_bytes_per_node);
  if (r.ratio_to_baseline) std::snprintf(ratio, sizeof ratio, "%.2f", *r.ratio_to_baseline);
  std::fprintf(stderr, "%-9s %10zu %9.4f %12.0f %9.1f %9.1f %9s %7s\n", r.scenario.c_str(), r.tasks, r.seconds,
               r.seconds > 0 ? static_cast<double>(r.tasks) / r.seconds : 0.0, ns_per_task(r),
               static_cast<double>(r.peak_rss_bytes) / (1024.0 * 1024.0), graph, ratio);
}

}  // namespace

int main(int argc, char** argv) {
  bench_config config;
  std::vector<std::string> scenario_names{"all"};
  unsigned repeat = 1;
  std::size_t sleep_ms = static_cast<std::size_t>(config.sleep_duration.count());
  double cron_seconds = 10.0;
  std::string serve_name;
  serve_config serve;
  unsigned serve_port = 0;

  po::options_description options{std::string(usage_intro)};
  // clang-format off
  options.add_options()
      ("help,h", "show this help")
      ("scenario,s", po::value(&scenario_names)->composing(),
       "scenarios to run: names, comma-separated or repeated, or all")
      ("chain", po::value(&config.chain_length)->default_value(config.chain_length), "tasks in the chain")
      ("plugin-chain", po::value(&config.plugin_chain_length)->default_value(config.plugin_chain_length),
       "tasks in each chain of the plugin-chain scenario")
      ("plugin", po::value(&config.plugin_path)->default_value(CASCADENCE_BENCH_PLUGIN),
       "the no-op plugin of the plugin-chain and plugin-isolated scenarios")
      ("plugin-isolated", po::value(&config.plugin_isolated_runs)->default_value(config.plugin_isolated_runs),
       "runs of each shape in the plugin-isolated scenario")
      ("fan", po::value(&config.fan_width)->default_value(config.fan_width), "tasks in the middle of the fan")
      ("layers", po::value(&config.layers)->default_value(config.layers), "layers of the DAG")
      ("width", po::value(&config.width)->default_value(config.width), "tasks per DAG layer")
      ("seed", po::value(&config.seed)->default_value(config.seed), "seed of the DAG's edges")
      ("sleep-tasks", po::value(&config.sleep_tasks)->default_value(config.sleep_tasks), "tasks of the sleep scenario")
      ("sleep-ms", po::value(&sleep_ms)->default_value(sleep_ms), "how long each sleep task sleeps")
      ("threads", po::value(&config.threads)->default_value(config.threads),
       "0: async tasks on one thread; N: blocking tasks on a pool of N threads")
      ("max-concurrency", po::value(&config.max_concurrency)->default_value(config.max_concurrency),
       "tasks in flight at most; 0: unlimited, or 8 x threads with --threads")
      ("repeat", po::value(&repeat)->default_value(repeat), "run each scenario this many times")
      ("cron-computations", po::value(&config.cron_computations)->default_value(config.cron_computations),
       "next_fire() calls in cron-next")
      ("cron-small", po::value(&config.cron_small)->default_value(config.cron_small),
       "schedules in cron-lateness-small")
      ("cron-large", po::value(&config.cron_large)->default_value(config.cron_large),
       "schedules in cron-lateness-large")
      ("cron-seconds", po::value(&cron_seconds)->default_value(cron_seconds),
       "how long the cron-lateness scenarios fire")
      ("metrics-tasks", po::value(&config.metrics_tasks)->default_value(config.metrics_tasks),
       "tasks whose series fill the registry in metrics-render")
      ("metrics-renders", po::value(&config.metrics_renders)->default_value(config.metrics_renders),
       "render() calls timed in metrics-render")
      ("metrics-schedules", po::bool_switch(&config.metrics_schedules),
       "metrics-render: every task also has schedule series (fires, lateness, next fire)")
      ("remote-url", po::value(&config.remote_url), "remote: the plugin server's base URL (default: CRONYX_BASE_URL)")
      ("remote-task", po::value(&config.remote_task)->default_value(config.remote_task), "remote: the task to run")
      ("remote-runs", po::value(&config.remote_runs)->default_value(config.remote_runs), "remote: how many runs")
      ("nats-url", po::value(&config.nats_url), "events: the NATS server (default: NATS_URL)")
      ("events-runs", po::value(&config.events_runs)->default_value(config.events_runs), "events: how many runs")
      ("events-queue", po::value(&config.events_queue)->default_value(config.events_queue),
       "events: the emitter's queue (events.queue_size)")
      ("temporal-http", po::value(&config.temporal_http),
       "temporal-start: the frontend's HTTP API (default: TEMPORAL_HTTP_ADDRESS)")
      ("temporal-namespace", po::value(&config.temporal_namespace)->default_value(config.temporal_namespace),
       "temporal-start: the namespace")
      ("temporal-queue", po::value(&config.temporal_queue)->default_value(config.temporal_queue),
       "temporal-start: the task queue a worker serves `hello` on")
      ("temporal-runs", po::value(&config.temporal_runs)->default_value(config.temporal_runs),
       "temporal-start: how many workflows")
      ("json-only", "print only the JSON lines (no table on stderr)")
      ("serve", po::value(&serve_name), "serve HTTP instead: http-baseline, http-webhook, http-webhook-journal or remote-noop")
      ("host", po::value(&serve.host)->default_value(serve.host), "address --serve binds")
      ("port", po::value(&serve_port)->default_value(serve_port), "port --serve binds; 0 picks a free one")
      ("secret", po::value(&serve.secret)->default_value(serve.secret),
       "GitHub webhook secret of --serve http-webhook");
  // clang-format on

  po::variables_map vm;
  try {
    po::store(po::command_line_parser(argc, argv).options(options).run(), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "error: bad command line (" << e.what() << ")\n";
    return 2;
  }
  if (vm.count("help") != 0) {
    std::cout << options << '\n';
    return 0;
  }
  if (!serve_name.empty()) {
    if (serve_port > 65535) {
      std::cerr << "error: bad command line (--port " << serve_port << " is not a port)\n";
      return 2;
    }
    serve.port = static_cast<std::uint16_t>(serve_port);
    try {
      if (serve_name == "http-baseline") return serve_http_baseline(serve);
      if (serve_name == "http-webhook") return serve_http_webhook(serve);
      if (serve_name == "http-webhook-journal") return serve_http_webhook(serve, true);
      if (serve_name == "remote-noop") return serve_remote_noop(serve);
    } catch (const std::exception& e) {
      std::cerr << "error: --serve " << serve_name << " failed (" << e.what() << ")\n";
      return 1;
    }
    std::cerr << "error: bad command line (--serve: unknown server '" << serve_name
              << "', expected http-baseline, http-webhook, http-webhook-journal or remote-noop)\n";
    return 2;
  }
  if (vm["scenario"].defaulted() || scenario_names.empty()) scenario_names = {"all"};
  if (config.chain_length == 0 || config.fan_width == 0 || config.layers == 0 || config.width == 0 ||
      config.sleep_tasks == 0 || config.metrics_renders == 0 || repeat == 0) {
    std::cerr << "error: bad command line (sizes and --repeat must be at least 1)\n";
    return 2;
  }
  if (config.remote_url.empty()) {
    if (const char* env = std::getenv("CRONYX_BASE_URL"); env != nullptr) config.remote_url = env;
  }
  if (config.nats_url.empty()) {
    if (const char* env = std::getenv("NATS_URL"); env != nullptr) config.nats_url = env;
  }
  if (config.temporal_http.empty()) {
    if (const char* env = std::getenv("TEMPORAL_HTTP_ADDRESS"); env != nullptr) config.temporal_http = env;
  }
  config.sleep_duration = std::chrono::milliseconds(sleep_ms);
  config.cron_duration = std::chrono::milliseconds(static_cast<std::int64_t>(cron_seconds * 1000));
  const auto selected = select(scenario_names);
  if (!selected) return 2;
  const bool table = vm.count("json-only") == 0;

  if (table) print_header();
  int status = 0;
  for (unsigned round = 1; round <= repeat; ++round) {
    std::optional<double> baseline_ns;
    for (const auto& s : *selected) {
      scenario_result result;
      try {
        release_free_memory();
        reset_peak_rss();
        result = s.run(config);
        result.peak_rss_bytes = peak_rss_bytes();
      } catch (const scenario_skipped& e) {
        std::cerr << "skipped: scenario " << s.name << " (" << e.what() << ")\n";
        continue;
      } catch (const std::exception& e) {
        std::cerr << "error: scenario " << s.name << " failed (" << e.what() << ")\n";
        status = 1;
        continue;
      }
      if (result.scenario == "dag-asio") baseline_ns = ns_per_task(result);
      if (result.scenario == "dag" && baseline_ns && *baseline_ns > 0) {
        result.ratio_to_baseline = ns_per_task(result) / *baseline_ns;
      }
      std::cout << to_json(result, config, round) << std::endl;
      if (table) print_row(result);
    }
  }
  return status;
}

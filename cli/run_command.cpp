// `task run` and `task trigger`: run targets with their dependencies on an
// io_context owned by the command, with SIGINT/SIGTERM cancelling the run.
// With the global metrics options the run's series are served on /metrics
// from the same loop and/or pushed to a Pushgateway when it ends.

#include "adapters/events/emitter.hpp"
#include "adapters/events/user_hash.hpp"
#include "adapters/metrics/metrics.hpp"
#include "cli/cli.hpp"
#include "cli/console_observer.hpp"
#include "cli/invocation.hpp"
#include "cli/metrics_exposure.hpp"
#include "core/text.hpp"
#include "engine/graph.hpp"
#include "engine/runner.hpp"
#include "net/json.hpp"
#include "service/run_events.hpp"
#include "service/run_report_json.hpp"
#include "service/temporal_tasks.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/program_options.hpp>

#include <unistd.h>
#include <csignal>
#include <functional>
#include <iostream>
#include <thread>

namespace cascadence::cli {

namespace po = boost::program_options;
namespace asio = boost::asio;

namespace {

struct run_request {
  std::vector<std::string> targets;
  bool json = false;
  std::optional<std::size_t> max_concurrency;
  boost::json::value input;
  /// Start each target's workflow on Temporal instead of running it here.
  bool on_temporal = false;
  /// --user-id, hashed at once: the clear id goes no further.
  std::string user_hash;
};

int execute(invocation& inv, const run_request& req) {
  const auto& cfg = inv.cfg();
  // On Temporal a task is one workflow, which runs what it depends on.
  std::optional<engine::graph> temporal_graph;
  if (req.on_temporal) temporal_graph.emplace(service::build_temporal_graph(cfg));
  const auto& graph = temporal_graph ? *temporal_graph : inv.graph();
  std::vector<engine::task_id> targets;
  for (const auto& name : req.targets) targets.push_back(*graph.find(inv.task(name).name));
  for (auto id : graph.closure(targets)) {
    const auto& task = *cfg.find(graph.name(id));
    if (!inv.enabled(task)) {
      const bool is_target = std::find(req.targets.begin(), req.targets.end(), task.name) != req.targets.end();
      throw refused_error("task '" + task.name + "' is disabled" +
                          (is_target ? std::string() : " and is a dependency of what was asked for") +
                          " (run 'task enable " + task.name + "' to enable it)");
    }
  }

  asio::io_context io;
  asio::thread_pool pool(cfg.threads != 0 ? cfg.threads : std::max(1U, std::thread::hardware_concurrency()));
  // Task output goes to stdout unless stdout carries the JSON report.
  console_observer console(req.json ? inv.err() : inv.out(), inv.err(),
                           &inv.err() == &std::cerr && ::isatty(STDERR_FILENO) == 1);
  engine::run_options options;
  options.max_concurrency = req.max_concurrency.value_or(cfg.max_concurrency);
  options.pool = &pool;
  options.kill_grace = cfg.kill_grace;
  options.input = req.input;
  options.user_hash = req.user_hash;
  options.observers.push_back(&console);

  adapters::metrics::metrics registry;
  std::optional<metrics_exposure> exposure;
  if (inv.metrics().wanted()) {
    exposure.emplace(io.get_executor(), inv.metrics(), registry, inv.err());
    options.observers.push_back(&registry.engine_observer());
    exposure->start();
  }
  const auto events = service::make_event_emitter(cfg, io.get_executor(), registry, [&inv](const std::string& line) {
    inv.err() << "warning: " << core::printable(line) << '\n';
  });
  if (events) options.observers.push_back(events.get());

  engine::run_canceller canceller;
  int signal_number = 0;
  bool run_over = false;
  asio::signal_set signals(io, SIGINT, SIGTERM);
  // A signal cancels the run; once it is over (metrics lingering), it ends the linger.
  std::function<void(boost::system::error_code, int)> on_signal = [&](boost::system::error_code ec, int sig) {
    if (ec) return;
    if (run_over) {
      if (exposure) exposure->cut_linger();
    } else {
      signal_number = sig;
      inv.err() << "\nreceived " << (sig == SIGINT ? "SIGINT" : "SIGTERM") << ", cancelling the run\n";
      canceller.cancel(sig == SIGINT ? "SIGINT" : "SIGTERM");
    }
    signals.async_wait(on_signal);
  };
  signals.async_wait(on_signal);

  std::optional<engine::run_report> report;
  std::exception_ptr failure;
  auto run = [&]() -> asio::awaitable<void> {
    try {
      report = co_await engine::run_graph(graph, targets, std::move(options), &canceller);
    } catch (...) {
      failure = std::current_exception();
    }
    run_over = true;
    if (events) {
      auto draining = events->drain(service::event_drain_time(cfg));
      co_await std::move(draining);
    }
    if (exposure) (void)co_await exposure->finish();
  };
  asio::co_spawn(io, run(), [&](const std::exception_ptr& e) {
    if (e && !failure) failure = e;
    signals.cancel();
  });
  io.run();
  if (failure) std::rethrow_exception(failure);

  const bool ok = report->succeeded();
  const std::string_view status = signal_number != 0 ? "cancelled" : ok ? "success" : "failed";
  if (req.json) inv.out() << net::json_text(service::run_report_json(graph, *report, status)) << '\n';
  if (signal_number != 0) return 128 + signal_number;
  return ok ? exit_ok : exit_task_failed;
}

int run_targets(invocation& inv, bool manual_only) {
  po::options_description options("options");
  options.add_options()("json", "print the run report as JSON on stdout (task output goes to stderr)")(
      "max-concurrency", po::value<std::size_t>(), "run at most N tasks at once (0: no limit)")(
      "input", po::value<std::string>(), "JSON value given to every task as `input`")(
      "temporal", "start each task's workflow on Temporal and wait for it (temporal: in the configuration)")(
      "local", "run here even with backend: temporal")(
      "user-id", po::value<std::string>(),
      "who asks for the run; only its hash (CASCADENCE_HASH_SECRET) goes into events and the report")(
      "targets", po::value<std::vector<std::string>>()->multitoken(), "tasks to run");
  po::positional_options_description positional;
  positional.add("targets", manual_only ? 1 : -1);
  po::variables_map vm;
  if (!inv.parse(options, positional, vm, manual_only ? "NAME [options]" : "NAME... [options]")) return exit_ok;
  run_request req;
  if (vm.count("targets") != 0U) req.targets = vm["targets"].as<std::vector<std::string>>();
  if (req.targets.empty())
    throw usage_error(std::string("missing task name; usage: task ") + (manual_only ? "trigger NAME" : "run NAME..."));
  req.json = vm.count("json") != 0U;
  if (vm.count("max-concurrency") != 0U) req.max_concurrency = vm["max-concurrency"].as<std::size_t>();
  if (vm.count("input") != 0U) {
    boost::system::error_code ec;
    req.input = boost::json::parse(vm["input"].as<std::string>(), ec);
    if (ec) throw usage_error("--input is not valid JSON (" + ec.message() + ")");
  }
  if (vm.count("user-id") != 0U) req.user_hash = adapters::events::hash_user_id(vm["user-id"].as<std::string>());
  if (vm.count("temporal") != 0U && vm.count("local") != 0U) {
    throw usage_error("--temporal and --local exclude each other");
  }
  req.on_temporal = vm.count("temporal") != 0U || (inv.cfg().backend == "temporal" && vm.count("local") == 0U);
  if (manual_only) {
    const auto& task = inv.task(req.targets.front());
    // As the seed's original: a task is triggered only when it says it is manual; a remote server's task is
    // started like one. The default kind (manual) does not count.
    const auto kind = task.settings.kind;
    if (kind == engine::task_kind::manual && !task.kind_given) {
      throw usage_error("task '" + task.name +
                        "' has no kind; only tasks with 'kind: manual' can be triggered (use 'task run " + task.name +
                        "' to run it anyway, or give it 'kind: manual')");
    }
    if (kind != engine::task_kind::manual && kind != engine::task_kind::remote) {
      throw usage_error("task '" + task.name + "' is a " + std::string(engine::to_string(kind)) +
                        " task; only manual tasks can be triggered (use 'task run " + task.name +
                        "' to run it anyway)");
    }
  }
  return execute(inv, req);
}

}  // namespace

int run_run(invocation& inv) {
  return run_targets(inv, false);
}
int run_trigger(invocation& inv) {
  return run_targets(inv, true);
}

}  // namespace cascadence::cli

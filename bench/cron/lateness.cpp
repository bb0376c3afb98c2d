// Fire lateness of the cron scheduler: N schedules of `* * * * * *`, each
// firing an echo task through the engine, for a number of seconds; lateness
// is the actual start of each run minus its nominal time.

#include "bench/scenario.hpp"
#include "bench/stopwatch.hpp"
#include "engine/builtin_processors.hpp"
#include "engine/graph.hpp"
#include "engine/runner.hpp"
#include "scheduling/cron_scheduler.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <unistd.h>
#include <algorithm>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

namespace cascadence::bench {

namespace asio = boost::asio;

namespace {

struct lateness_observer final : scheduling::scheduler_observer {
  std::vector<double> lateness_ms;
  std::size_t skipped = 0;
  std::size_t failed = 0;
  void on_fire(const std::string&, std::chrono::sys_seconds, std::chrono::nanoseconds late,
               const engine::run_id&) override {
    lateness_ms.push_back(std::chrono::duration<double, std::milli>(late).count());
  }
  void on_skip(const std::string&, std::chrono::sys_seconds, scheduling::skip_reason, std::size_t count) override {
    skipped += count;
  }
  void on_run_finished(const std::string&, std::chrono::sys_seconds, const engine::run_report& r) override {
    failed += r.succeeded() ? 0 : 1;
  }
};

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  const auto k = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return v[k];
}

}  // namespace

scenario_result run_cron_lateness(const bench_config& config, std::size_t schedules) {
  engine::graph_builder builder;
  auto echo = engine::make_echo_processor("tick");
  for (std::size_t i = 0; i < schedules; ++i) builder.add({"t" + std::to_string(i), echo, {}});
  auto built = std::move(builder).build();
  const auto& graph = built.value();

  auto dir = std::filesystem::temp_directory_path() / ("cascadence-bench-cron-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  asio::io_context io;
  asio::thread_pool sync_pool(1);
  lateness_observer obs;
  scheduling::cron_scheduler scheduler(
      io.get_executor(),
      [&graph, &io](const std::string& task, engine::run_id id, engine::run_canceller& c, scheduling::fire_done done) {
        engine::run_options options;
        options.id = id;
        const engine::task_id target = *graph.find(task);
        engine::async_run_graph(
            io.get_executor(), graph, std::span<const engine::task_id>(&target, 1), std::move(options), &c,
            [done = std::move(done)](engine::run_report report) { done(nullptr, std::move(report)); });
      },
      scheduling::fire_state_store(dir / "fire-state.yml"), &obs, &sync_pool);

  const auto expr = (scheduling::cron_expression::parse("* * * * * *")).value();
  std::vector<scheduling::active_schedule> active;
  for (std::size_t i = 0; i < schedules; ++i) {
    scheduling::schedule_entry e;
    e.task = "t" + std::to_string(i);
    e.expression = "* * * * * *";
    active.push_back({std::move(e), expr, scheduling::time_zone::utc()});
  }

  const stopwatch watch;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        scheduler.apply(std::move(active));
        asio::steady_timer t(io, config.cron_duration);
        co_await t.async_wait(asio::use_awaitable);
        co_await scheduler.drain(std::chrono::seconds(5), "benchmark over");
      },
      asio::detached);
  io.run();
  std::filesystem::remove_all(dir);

  scenario_result r;
  r.scenario = "cron-lateness-" + std::to_string(schedules);
  r.tasks = obs.lateness_ms.size();
  r.seconds = watch.seconds();
  r.cpu_seconds = watch.cpu_seconds();
  r.extra.emplace_back("schedules", static_cast<double>(schedules));
  r.extra.emplace_back("lateness_p50_ms", percentile(obs.lateness_ms, 0.50));
  r.extra.emplace_back("lateness_p99_ms", percentile(obs.lateness_ms, 0.99));
  r.extra.emplace_back("lateness_max_ms", percentile(obs.lateness_ms, 1.0));
  r.extra.emplace_back("skipped", static_cast<double>(obs.skipped));
  if (obs.failed != 0) throw std::runtime_error(std::to_string(obs.failed) + " fired runs failed");
  return r;
}

}  // namespace cascadence::bench

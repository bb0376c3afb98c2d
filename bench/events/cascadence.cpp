// The events workload: --events-runs runs of one immediate task, 16 in
// flight, first with events off, then with every run's events (a task spec
// and a task run per run) sent over NATS to a real server (--nats-url, else
// NATS_URL; scripts/services/nats starts one). ratio_to_baseline is the
// time per run with events over the time without, both from this one
// invocation; the NATS pass is timed until its last event was delivered or
// given up. The runs go back to back as fast as the engine settles them
// (about 2 million events a second on one core), far faster than the queue
// (--events-queue, default the configuration's 10,000) drains into NATS:
// events_dropped says how many did not fit.

#include "adapters/events/emitter.hpp"
#include "adapters/events/transports.hpp"
#include "bench/engine_run.hpp"
#include "bench/scenario.hpp"
#include "bench/stopwatch.hpp"
#include "engine/builtin_processors.hpp"
#include "engine/graph.hpp"
#include "engine/runner.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>

#include <functional>
#include <stdexcept>
#include <thread>

namespace cascadence::bench {

namespace asio = boost::asio;

namespace {

constexpr std::size_t in_flight = 16;

struct pass final {
  double seconds = 0;
  double cpu_seconds = 0;
  std::size_t failed = 0;
};

void drain(asio::io_context& io, adapters::events::emitter& events, std::chrono::milliseconds within) {
  io.restart();
  asio::co_spawn(io, events.drain(within), asio::detached);
  io.run();
  io.restart();
}

// `runs` runs of `g`'s one task on `io`, `in_flight` at a time, each
// observed by `events` when not null, which is drained before the clock stops.
pass run_pass(asio::io_context& io, const engine::graph& g, std::size_t runs, adapters::events::emitter* events) {
  const engine::task_id target = 0;
  std::size_t started = 0;
  pass out;
  std::function<void()> start_one = [&] {
    if (started == runs) return;
    ++started;
    engine::run_options o;
    if (events != nullptr) o.observers.push_back(events);
    o.user_hash = "2bd806c97f0e00af1a1fc3328fa763a9269723c8db8fac4f93af71db186d6e90";
    engine::async_run_graph(io.get_executor(), g, std::span(&target, 1), std::move(o), nullptr,
                            [&](const engine::run_report& report) {
                              if (!report.succeeded()) ++out.failed;
                              start_one();
                            });
  };
  stopwatch clock;
  for (std::size_t i = 0; i < in_flight; ++i) start_one();
  io.run();
  if (events != nullptr) drain(io, *events, std::chrono::seconds(30));
  out.seconds = clock.seconds();
  out.cpu_seconds = clock.cpu_seconds();
  return out;
}

}  // namespace

scenario_result run_events(const bench_config& config) {
  if (config.nats_url.empty()) {
    throw std::runtime_error(
        "the events scenario needs a NATS server: --nats-url URL or NATS_URL (scripts/services/nats start)");
  }
  scenario_result result;
  result.scenario = "events";
  result.tasks = config.events_runs;
  const auto g = tasks_of(engine::make_echo_processor("ok"), 1, false, result);

  asio::io_context io(1);
  const auto off = run_pass(io, g, config.events_runs, nullptr);

  adapters::events::settings s;
  s.transport = "nats";
  s.nats_url = config.nats_url;
  s.nats_subject = "bench.{task}";
  s.emitter.queue_limit = config.events_queue;
  std::uint64_t dropped = 0;
  adapters::events::emitter_hooks hooks;
  hooks.dropped = [&](std::string_view, std::string_view, std::uint64_t n) { dropped += n; };
  adapters::events::emitter events(io.get_executor(), adapters::events::make_transport(s, io.get_executor()), s.emitter,
                                   std::move(hooks));
  // Connected first (libnats connects in the background): a probe event
  // until one is delivered, for up to 5 s.
  for (int i = 0; i < 50 && events.totals().sent == 0; ++i) {
    events.push({"probe", R"({"probe":true})"});
    drain(io, events, std::chrono::seconds(1));
    if (events.totals().sent == 0) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  if (events.totals().sent == 0) throw std::runtime_error("cannot deliver events to " + config.nats_url);
  const auto before = events.totals();
  dropped = 0;
  const auto on = run_pass(io, g, config.events_runs, &events);
  const auto after = events.totals();

  if (off.failed + on.failed != 0) throw std::runtime_error("runs failed");
  result.seconds = on.seconds;
  result.cpu_seconds = on.cpu_seconds;
  result.ratio_to_baseline = off.seconds > 0 ? on.seconds / off.seconds : 0.0;
  result.extra.emplace_back("off_seconds", off.seconds);
  result.extra.emplace_back("off_cpu_seconds", off.cpu_seconds);
  result.extra.emplace_back("cpu_ratio", off.cpu_seconds > 0 ? on.cpu_seconds / off.cpu_seconds : 0.0);
  result.extra.emplace_back("events_sent", static_cast<double>(after.sent - before.sent));
  result.extra.emplace_back("events_dropped", static_cast<double>(dropped));
  result.extra.emplace_back("events_queue", static_cast<double>(s.emitter.queue_limit));
  return result;
}

}  // namespace cascadence::bench

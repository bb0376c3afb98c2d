// `task serve`: the long-running main job, and `task webhook`, the same
// without firing schedules. Both are a service::runtime on an io_context and
// a thread pool owned by this command; the command adds what belongs to a
// process: signals (SIGHUP reloads, SIGINT/SIGTERM stop with the grace
// period, a second one cancels at once) and the global --metrics-port.

#include "cli/cli.hpp"
#include "cli/invocation.hpp"
#include "cli/metrics_exposure.hpp"
#include "core/spawn.hpp"
#include "engine/duration.hpp"
#include "service/runtime.hpp"
#include "service/serve_log.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/program_options.hpp>

#include <csignal>
#include <memory>
#include <ostream>

namespace cascadence::cli {

namespace po = boost::program_options;
namespace asio = boost::asio;

namespace {

std::string signal_name(int sig) {
  return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "SIGHUP";
}

// During stop(): a second SIGINT/SIGTERM cancels what is still running.
// Ends once `stopped` is set: a signal whose completion was already queued
// when stop() returned must not start another wait, which nothing would
// cancel and which would keep the loop running for ever.
asio::awaitable<void> cancel_on_second_signal(service::runtime& rt, asio::signal_set& signals,
                                              std::shared_ptr<const bool> stopped, std::ostream& log) {
  while (!*stopped) {
    auto [ec, sig] = co_await signals.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec || *stopped) co_return;
    if (sig == SIGHUP) continue;
    service::serve_log(log).info(signal_name(sig) + " again: cancelling the running fires now");
    rt.cancel_running("shutdown (signalled twice)");
  }
}

// Until SIGINT/SIGTERM: SIGHUP reloads. Then stop() with the grace period.
asio::awaitable<void> serve_until_signalled(service::runtime& rt, asio::signal_set& signals,
                                            std::chrono::milliseconds grace, std::ostream& log) {
  for (;;) {
    auto [ec, sig] = co_await signals.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec) break;
    if (sig == SIGHUP) {
      service::serve_log(log).info("SIGHUP: reloading the configuration, the schedules and the webhook subscriptions");
      (void)co_await rt.reload_off_loop();
      continue;
    }
    service::serve_log(log).info(signal_name(sig) + ": no more fires or requests; waiting up to " +
                                 engine::format_duration(grace) + " for " + std::to_string(rt.running()) +
                                 " running fire(s) and requests (send it again to cancel them now)");
    break;
  }
  auto stopped = std::make_shared<bool>(false);
  core::spawn(co_await asio::this_coro::executor, cancel_on_second_signal(rt, signals, stopped, log),
              "second-signal-watcher", [&log](std::string_view what, std::string_view why) {
                service::serve_log(log).on_error(std::string(what) + " ended unexpectedly: " + std::string(why));
              });
  co_await rt.stop(grace, "shutdown");
  *stopped = true;
  signals.cancel();
}

int serve_main(invocation& inv, bool fire_schedules) {
  po::options_description options("options");
  options.add_options()("grace", po::value<std::string>(),
                        "on SIGINT/SIGTERM, wait this long for running tasks and HTTP requests before cancelling "
                        "them (default: shutdown_grace, 30s)")(
      "host", po::value<std::string>()->default_value("127.0.0.1"),
      "address to serve HTTP on (webhooks, REST API, /healthz); off loopback the API needs a token")(
      "port", po::value<unsigned>()->default_value(8000), "port to serve HTTP on; 0 picks a free one");
  po::variables_map vm;
  if (!inv.parse(options, {}, vm, "[--host H] [--port P] [--grace DURATION]")) return exit_ok;
  service::listen_address at;
  at.host = vm["host"].as<std::string>();
  if (at.host.empty()) throw usage_error("--host: empty address");
  if (vm["port"].as<unsigned>() > 65535)
    throw usage_error("--port: " + std::to_string(vm["port"].as<unsigned>()) + " is not a port (0 to 65535)");
  at.port = static_cast<std::uint16_t>(vm["port"].as<unsigned>());
  const auto& cfg = inv.cfg();
  auto grace = cfg.shutdown_grace;
  if (vm.count("grace") != 0U) {
    auto d = engine::parse_duration(vm["grace"].as<std::string>());
    if (!d) throw usage_error("--grace: " + engine::duration_error(vm["grace"].as<std::string>()));
    grace = *d;
  }
  asio::io_context io;
  asio::thread_pool pool(service::pool_threads(cfg));
  service::runtime_options wanted;
  wanted.listen = std::move(at);
  wanted.fire_schedules = fire_schedules;
  // Signals first: one arriving while the service starts is not lost.
  asio::signal_set signals(io, SIGINT, SIGTERM, SIGHUP);
  service::runtime rt(io.get_executor(), pool, cfg, std::move(wanted), inv.out());
  inv.release_loaded();  // the runtime loaded the plugins again, with the loop and the pool
  metrics_exposure exposure(io.get_executor(), inv.metrics(), rt.metrics(), inv.err());
  exposure.start();
  std::exception_ptr failure;
  auto serve = [&]() -> asio::awaitable<void> {
    try {
      rt.start();
      co_await serve_until_signalled(rt, signals, grace, inv.out());
    } catch (...) {
      failure = std::current_exception();
      signals.cancel();
    }
    (void)co_await exposure.finish();
  };
  asio::co_spawn(io, serve(), [&](const std::exception_ptr& e) {
    if (e && !failure) failure = e;
  });
  io.run();
  if (failure) std::rethrow_exception(failure);
  return exit_ok;
}

}  // namespace

int run_serve(invocation& inv) {
  return serve_main(inv, true);
}

int run_webhook(invocation& inv) {
  return serve_main(inv, false);
}

}  // namespace cascadence::cli

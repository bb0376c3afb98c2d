// Cascadence's side of the HTTP benchmark: the route table of `task
// webhook` on net::http_server, on one thread, with the server's default
// limits and timeouts. A POST /webhook/github goes the whole real way: the
// session's parser and limits, the router, the HMAC-SHA256 check of the body
// against the configured secret, JSON parsing, the event type from
// X-GitHub-Event, the subscriber lookup and a detached delivery coroutine
// per subscriber. The one subscriber is a built-in task that counts events,
// so what is measured is the HTTP path, not a task run.

#include "adapters/api/api_service.hpp"
#include "adapters/metrics/metrics.hpp"
#include "adapters/webhooks/webhook_journal.hpp"
#include "adapters/webhooks/webhook_registry.hpp"
#include "adapters/webhooks/webhook_routes.hpp"
#include "bench/http/serve.hpp"
#include "net/http_server.hpp"
#include "net/router.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include <stdlib.h>
#include <boost/asio/signal_set.hpp>
#include <filesystem>
#include <optional>

#include <csignal>
#include <cstdint>
#include <iostream>
#include <memory>
#include <stdexcept>

namespace cascadence::bench {

namespace {

namespace asio = boost::asio;
namespace webhooks = adapters::webhooks;

class counting_task final : public webhooks::webhook_task {
 public:
  asio::awaitable<void> handle_event(std::string source, std::string event_type, boost::json::value payload) override {
    (void)source, (void)event_type, (void)payload;
    ++events_;
    co_return;
  }
  [[nodiscard]] std::uint64_t events() const noexcept { return events_; }

 private:
  std::uint64_t events_ = 0;
};

// The REST API with no tasks: its routes are in the table, as in `task
// webhook`, but the benchmark never calls them.
class no_tasks final : public adapters::api::api_backend {
 public:
  std::vector<adapters::api::task_summary> tasks() const override { return {}; }
  bool has_task(std::string_view) const override { return false; }
  asio::awaitable<adapters::api::finished_run> run(std::string task, boost::json::value, engine::run_id, bool,
                                                   std::string) override {
    throw std::logic_error("no task '" + task + "' in the HTTP benchmark");
  }
};

}  // namespace

int serve_http_webhook(const serve_config& config, bool journaled) {
  asio::io_context io;  // as `task serve` and `task webhook` make theirs
  // With the journal, as `task webhook` runs by default: each 202 waits for
  // its event's group commit (write + fdatasync on the pool) in a scratch
  // directory on the temporary file system's disk.
  asio::thread_pool pool(1);
  std::optional<webhooks::webhook_journal> journal;
  std::filesystem::path journal_dir;
  if (journaled) {
    auto templ = (std::filesystem::temp_directory_path() / "cascadence-bench-journal-XXXXXX").string();
    if (::mkdtemp(templ.data()) == nullptr) throw std::runtime_error("cannot make a scratch directory");
    journal_dir = templ;
    journal.emplace(io.get_executor(), pool, webhooks::journal_options{journal_dir, 1U << 30U, std::chrono::hours(24)});
    (void)journal->open();
  }
  auto counter = std::make_shared<counting_task>();
  auto registry = std::make_shared<webhooks::webhook_registry>();
  registry->set_secret("github", config.secret);
  registry->subscribe("github", {"push"}, "bench-counter", counter);

  adapters::metrics::metrics metrics;
  auto api = std::make_shared<adapters::api::api_service>(io.get_executor(), std::make_shared<no_tasks>(),
                                                          adapters::api::api_options{});
  net::router routes;
  adapters::api::add_health_route(routes);
  adapters::api::add_api_routes(routes, api);
  routes.get("/metrics", [&metrics](net::request&) {
    net::response res;
    res.content_type = "text/plain; version=0.0.4; charset=utf-8";
    res.body = metrics.render();
    return res;
  });
  webhooks::add_webhook_routes(
      routes, io.get_executor(), registry, [](std::string_view message) { std::cerr << message << '\n'; }, nullptr,
      nullptr, journal ? &*journal : nullptr);

  net::server_options options;
  options.host = config.host;
  options.port = config.port;
  net::http_server server(io.get_executor(), std::move(routes), options);
  if (const auto ec = server.start()) {
    std::cerr << "error: cannot listen on " << config.host << ':' << config.port << " (" << ec.message() << ")\n";
    return 1;
  }
  std::cout << "listening on http://" << config.host << ':' << server.port() << std::endl;

  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code, int) { server.stop(std::chrono::milliseconds(0)); });
  io.run();

  const auto stats = server.stats();
  pool.join();
  if (journaled) std::filesystem::remove_all(journal_dir);
  std::cout << R"({"server":")" << (journaled ? "http-webhook-journal" : "http-webhook") << R"(","connections":)"
            << stats.connections_accepted << R"(,"responses":)" << stats.responses.total() << R"(,"responses_2xx":)"
            << stats.responses.success << R"(,"responses_4xx":)" << stats.responses.client_error
            << R"(,"responses_5xx":)" << stats.responses.server_error << R"(,"deliveries":)" << counter->events() << '}'
            << std::endl;
  return 0;
}

}  // namespace cascadence::bench

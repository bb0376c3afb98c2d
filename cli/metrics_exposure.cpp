#include "cli/metrics_exposure.hpp"

#include "adapters/metrics/http_metrics.hpp"
#include "adapters/metrics/metrics.hpp"
#include "adapters/metrics/metrics_route.hpp"
#include "engine/duration.hpp"
#include "net/http_client.hpp"
#include "net/http_server.hpp"
#include "net/router.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <unistd.h>
#include <ostream>
#include <stdexcept>

namespace cascadence::cli {

namespace asio = boost::asio;

namespace {

/// How long the /metrics server lets a scrape in flight finish at the end.
constexpr std::chrono::milliseconds stop_grace{1000};
/// One push: connect and answer deadlines, attempts (5xx and connection errors).
constexpr std::chrono::milliseconds push_timeout{std::chrono::seconds(10)};
constexpr unsigned push_attempts = 3;

std::string host_name() {
  char buf[256] = {};
  if (::gethostname(buf, sizeof buf - 1) != 0 || buf[0] == '\0') return "localhost";
  return buf;
}

}  // namespace

struct metrics_exposure::impl {
  asio::any_io_executor ex;
  metrics_options options;
  adapters::metrics::metrics& registry;
  std::ostream& log;
  // Scrapes of /metrics are counted like any HTTP request; declared before
  // the server, which must not outlive it.
  adapters::metrics::http_metrics http_observer{registry};
  std::optional<net::http_server> server;
  asio::steady_timer linger;
  bool linger_cut = false;

  impl(asio::any_io_executor e, metrics_options o, adapters::metrics::metrics& r, std::ostream& l)
      : ex(std::move(e)), options(std::move(o)), registry(r), log(l), linger(ex) {}

  asio::awaitable<bool> push() {
    std::string base = *options.pushgateway;
    while (base.ends_with('/')) base.pop_back();
    net::client_options copts;
    copts.connect_timeout = push_timeout;
    copts.request_timeout = push_timeout;
    copts.max_attempts = push_attempts;
    net::http_client client(ex, copts);
    net::client_request req;
    req.method = net::http_method::put;
    req.url = base + "/metrics/job/cascadence/instance/" + host_name();
    req.headers.set("Content-Type", "text/plain; version=0.0.4");
    req.body = registry.render();
    auto res = co_await client.send(std::move(req));
    if (!res) {
      log << "error: cannot push metrics to " << base << " (" << res.error().message << ")\n";
      co_return false;
    }
    if (!res->ok()) {
      auto body = res->body.substr(0, 200);
      while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.pop_back();
      log << "error: cannot push metrics to " << base << " (HTTP " << res->status << (body.empty() ? "" : ": ") << body
          << ")\n";
      co_return false;
    }
    co_return true;
  }
};

metrics_exposure::metrics_exposure(asio::any_io_executor ex, metrics_options options,
                                   adapters::metrics::metrics& registry, std::ostream& log)
    : impl_(std::make_unique<impl>(std::move(ex), std::move(options), registry, log)) {}

metrics_exposure::~metrics_exposure() = default;

void metrics_exposure::start() {
  if (!impl_->options.port) return;
  net::router routes;
  add_metrics_route(routes, impl_->registry);
  net::server_options sopts;
  sopts.host = "127.0.0.1";
  sopts.port = *impl_->options.port;
  sopts.observer = &impl_->http_observer;
  auto& server = impl_->server.emplace(impl_->ex, std::move(routes), sopts);
  if (const auto ec = server.start()) {
    impl_->server.reset();
    throw std::runtime_error("--metrics-port: cannot listen on 127.0.0.1:" + std::to_string(sopts.port) + " (" +
                             ec.message() + ")");
  }
  impl_->log << "metrics on http://127.0.0.1:" << server.port() << "/metrics\n" << std::flush;
}

std::uint16_t metrics_exposure::port() const noexcept {
  return impl_->server ? impl_->server->port() : 0;
}

asio::awaitable<bool> metrics_exposure::finish() {
  bool pushed = true;
  if (impl_->options.pushgateway) pushed = co_await impl_->push();
  if (!impl_->server) co_return pushed;
  if (impl_->options.linger.count() > 0 && !impl_->linger_cut) {
    impl_->log << "metrics: serving for " << engine::format_duration(impl_->options.linger) << " more\n" << std::flush;
    impl_->linger.expires_after(impl_->options.linger);
    (void)co_await impl_->linger.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  impl_->server->stop(stop_grace);
  co_await impl_->server->wait_stopped();
  co_return pushed;
}

void metrics_exposure::cut_linger() {
  impl_->linger_cut = true;
  impl_->linger.cancel();
}

}  // namespace cascadence::cli

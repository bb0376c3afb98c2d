#include "cli/metrics_exposure.hpp"

#include "adapters/metrics/metrics.hpp"
#include "adapters/metrics/metrics_route.hpp"
#include "net/http_client.hpp"
#include "net/router.hpp"
#include "tests/support/run_async.hpp"

#include <doctest/doctest.h>
#include <boost/asio/io_context.hpp>

#include <sstream>

using namespace cascadence;
namespace asio = boost::asio;
using namespace std::chrono_literals;

TEST_CASE("the /metrics route answers with the text exposition and its content type" * doctest::timeout(10)) {
  adapters::metrics::metrics registry;
  registry.record_webhook_request("github", 202);
  net::router routes;
  cascadence::adapters::metrics::add_metrics_route(routes, registry);
  auto req = net::request::from_target(net::http_method::get, "/metrics");
  REQUIRE(req);
  const auto res = test::run_async(routes.handle(*req));
  CHECK(res.status == 200);
  CHECK(res.content_type == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(res.body == registry.render());
  CHECK(res.body.find("cascadence_webhook_requests_total{code=\"202\",source=\"github\"} 1") != std::string::npos);
}

TEST_CASE("an exposure on port 0 serves on a free port until finish() stops it" * doctest::timeout(20)) {
  asio::io_context io;
  adapters::metrics::metrics registry;
  registry.record_webhook_request("github", 202);
  std::ostringstream log;
  cli::metrics_options options;
  options.port = 0;
  cli::metrics_exposure exposure(io.get_executor(), options, registry, log);
  exposure.start();
  const auto port = exposure.port();
  REQUIRE(port != 0);
  CHECK(log.str() == "metrics on http://127.0.0.1:" + std::to_string(port) + "/metrics\n");
  const auto url = "http://127.0.0.1:" + std::to_string(port) + "/metrics";
  net::client_options copts;
  copts.max_attempts = 1;
  net::http_client client(io.get_executor(), copts);
  auto scenario = [&]() -> asio::awaitable<bool> {
    const auto before = registry.render();
    auto res = co_await client.get(url);
    REQUIRE(res);
    CHECK(res->status == 200);
    CHECK(res->body == before);
    client.close_idle();
    const bool pushed = co_await exposure.finish();
    // The scrape itself was counted (the server has ended, so it is done).
    const auto after_scrape = registry.render();
    CHECK(after_scrape.find("cascadence_http_requests_total{code=\"200\",method=\"GET\",route=\"/metrics\"} 1\n") !=
          std::string::npos);
    CHECK(after_scrape.find("cascadence_http_request_duration_seconds_count{method=\"GET\",route=\"/metrics\"} 1\n") !=
          std::string::npos);
    auto after = co_await client.get(url);
    CHECK_FALSE(after);  // stopped: connection refused
    co_return pushed;
  };
  CHECK(test::run_async(io, scenario()));
}

TEST_CASE("a port that is taken is refused with the reason" * doctest::timeout(10)) {
  asio::io_context io;
  adapters::metrics::metrics registry;
  std::ostringstream log;
  cli::metrics_options options;
  options.port = 0;
  cli::metrics_exposure first(io.get_executor(), options, registry, log);
  first.start();
  options.port = first.port();
  cli::metrics_exposure second(io.get_executor(), options, registry, log);
  CHECK_THROWS_WITH_AS(second.start(), doctest::Contains("--metrics-port: cannot listen on 127.0.0.1:"),
                       std::runtime_error);
}

TEST_CASE("a push to an unreachable Pushgateway is reported, not thrown" * doctest::timeout(20)) {
  asio::io_context io;
  adapters::metrics::metrics registry;
  std::ostringstream log;
  cli::metrics_options options;
  options.pushgateway = "http://127.0.0.1:1/";
  cli::metrics_exposure exposure(io.get_executor(), options, registry, log);
  exposure.start();
  CHECK(exposure.port() == 0);
  CHECK_FALSE(test::run_async(io, exposure.finish()));
  CHECK(log.str().starts_with("error: cannot push metrics to http://127.0.0.1:1 ("));
}

#include "adapters/metrics/http_metrics.hpp"

#include "adapters/metrics/metrics.hpp"
#include "net/http_server.hpp"
#include "tests/unit/net/net_test_support.hpp"

#include <doctest/doctest.h>

#include <sstream>
#include <string>
#include <vector>

using namespace cascadence;
using adapters::metrics::http_metrics;
using adapters::metrics::metrics;

namespace {

bool has_line(const std::string& text, const std::string& line) {
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) {
    if (l == line) return true;
  }
  return false;
}

net::router runs_router() {
  net::router r;
  r.get("/runs/{id}", [](net::request& req) { return net::response::text(200, std::string(*req.param("id"))); });
  return r;
}

}  // namespace

TEST_CASE("responses are counted by route pattern and method, never by the path requested" * doctest::timeout(20)) {
  metrics registry;
  http_metrics observer(registry);
  test::asio::io_context io;
  net::server_options options;
  options.observer = &observer;
  net::http_server server(io.get_executor(), runs_router(), options);
  REQUIRE_FALSE(server.start());
  const auto port = server.port();
  const std::vector<std::string> requests{
      "GET /runs/first-id HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
      "GET /runs/second-id HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
      "HEAD /runs/third-id HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
      "GET /nowhere/alpha HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
      "GET /nowhere/beta HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
      "DELETE /runs/fourth-id HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
      "NOT A REQUEST\r\n\r\n",
  };
  auto replies = test::run_with_server(
      io, server, [](std::uint16_t p, std::vector<std::string> rs) -> test::asio::awaitable<std::vector<std::string>> {
        std::vector<std::string> out;
        out.reserve(rs.size());
        for (auto& r : rs) out.push_back(co_await test::raw_exchange(p, std::move(r)));
        co_return out;
      }(port, requests));
  REQUIRE(replies.size() == requests.size());
  CHECK(replies[0].starts_with("HTTP/1.1 200"));
  CHECK(replies[3].starts_with("HTTP/1.1 404"));
  CHECK(replies[5].starts_with("HTTP/1.1 405"));
  CHECK(replies[6].starts_with("HTTP/1.1 400"));

  const auto text = registry.render();
  CHECK(has_line(text, R"m(cascadence_http_requests_total{code="200",method="GET",route="/runs/{id}"} 2)m"));
  CHECK(has_line(text, R"m(cascadence_http_requests_total{code="200",method="HEAD",route="/runs/{id}"} 1)m"));
  CHECK(has_line(text, R"m(cascadence_http_requests_total{code="404",method="GET",route="(unmatched)"} 2)m"));
  CHECK(has_line(text, R"m(cascadence_http_requests_total{code="405",method="DELETE",route="(unmatched)"} 1)m"));
  CHECK(has_line(text, R"m(cascadence_http_requests_total{code="400",method="(unknown)",route="(unmatched)"} 1)m"));
  CHECK(has_line(text, R"m(cascadence_http_request_duration_seconds_count{method="GET",route="/runs/{id}"} 2)m"));
  CHECK(has_line(text, R"m(cascadence_http_request_duration_seconds_count{method="GET",route="(unmatched)"} 2)m"));
  for (const auto* raw : {"first-id", "second-id", "third-id", "fourth-id", "/nowhere", "alpha", "beta"}) {
    CHECK_MESSAGE(text.find(raw) == std::string::npos, raw);
  }
}

TEST_CASE("the time a response took lands in the duration histogram") {
  metrics registry;
  http_metrics observer(registry);
  const net::route_info route{net::http_method::post, "/webhook/{source}"};
  net::response_event event;
  event.method = net::http_method::post;
  event.route = &route;
  event.status = 202;
  event.elapsed = std::chrono::milliseconds(30);
  observer.on_response(event);
  const auto text = registry.render();
  CHECK(has_line(text, R"m(cascadence_http_requests_total{code="202",method="POST",route="/webhook/{source}"} 1)m"));
  // 30 ms: above the 25 ms bucket, within the 50 ms one.
  CHECK(has_line(
      text,
      R"m(cascadence_http_request_duration_seconds_bucket{method="POST",route="/webhook/{source}",le="0.025"} 0)m"));
  CHECK(has_line(
      text,
      R"m(cascadence_http_request_duration_seconds_bucket{method="POST",route="/webhook/{source}",le="0.05"} 1)m"));
}

TEST_CASE("limit hits and shed connections are counted by limit and by reason") {
  metrics registry;
  http_metrics observer(registry);
  observer.on_limit(net::limit_kind::connections_per_client);
  observer.on_limit(net::limit_kind::connections_per_client);
  observer.on_limit(net::limit_kind::header_size);
  observer.on_shed(net::shed_reason::incomplete_request);
  observer.on_shed(net::shed_reason::idle);
  observer.on_shed(net::shed_reason::incomplete_request);
  const auto text = registry.render();
  CHECK(has_line(text, R"m(cascadence_http_limit_hits_total{limit="connections_per_client"} 2)m"));
  CHECK(has_line(text, R"m(cascadence_http_limit_hits_total{limit="header_size"} 1)m"));
  CHECK(has_line(text, R"m(cascadence_http_connections_shed_total{reason="incomplete_request"} 2)m"));
  CHECK(has_line(text, R"m(cascadence_http_connections_shed_total{reason="idle"} 1)m"));
  CHECK(has_line(text, "# TYPE cascadence_http_connections_shed_total counter"));
}

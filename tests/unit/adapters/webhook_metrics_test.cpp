#include "adapters/metrics/webhook_metrics.hpp"

#include "adapters/metrics/metrics.hpp"
#include "adapters/webhooks/webhook_routes.hpp"
#include "net/hmac.hpp"
#include "net/router.hpp"
#include "tests/support/run_async.hpp"

#include <doctest/doctest.h>
#include <boost/asio/io_context.hpp>

#include <sstream>
#include <string>

using namespace cascadence;
using adapters::metrics::metrics;
using adapters::metrics::webhook_metrics;
namespace webhooks = adapters::webhooks;

namespace {

bool has_line(const std::string& text, const std::string& line) {
  std::istringstream in(text);
  for (std::string l; std::getline(in, l);) {
    if (l == line) return true;
  }
  return false;
}

}  // namespace

TEST_CASE("webhook answers are counted by source and status, every unknown source under one label" *
          doctest::timeout(10)) {
  metrics registry;
  webhook_metrics observer(registry);
  auto reg = std::make_shared<webhooks::webhook_registry>();
  reg->set_secret("github", "s3cret");
  int delivered = 0;
  auto count_delivery = [&delivered](std::string, std::string, boost::json::value) -> boost::asio::awaitable<void> {
    ++delivered;
    co_return;
  };
  reg->subscribe("github", {"push"}, "deploy", webhooks::make_webhook_task(count_delivery));
  reg->subscribe("github", {}, "audit", webhooks::make_webhook_task(count_delivery));
  boost::asio::io_context io;
  net::router routes;
  webhooks::add_webhook_routes(routes, io.get_executor(), reg, {}, &observer);
  const auto send = [&](const std::string& path, const std::string& body, const std::string& signature) {
    auto req = *net::request::from_target(net::http_method::post, path);
    req.body = body;
    req.headers.set("X-GitHub-Event", "push");
    if (!signature.empty()) req.headers.set("X-Hub-Signature-256", "sha256=" + signature);
    return test::run_async(io, routes.handle(req)).status;
  };
  const std::string body = R"m({"ref":"main"})m";
  CHECK(send("/webhook/github", body, net::hmac_sha256_hex("s3cret", body)) == 202);
  CHECK(send("/webhook/github", body, net::hmac_sha256_hex("wrong", body)) == 401);
  CHECK(send("/webhook/github", "{bad", net::hmac_sha256_hex("s3cret", "{bad")) == 400);
  for (int i = 0; i < 50; ++i) CHECK(send("/webhook/stranger-" + std::to_string(i), body, "") == 404);
  CHECK(delivered == 2);

  const auto text = registry.render();
  CHECK(has_line(text, R"m(cascadence_webhook_requests_total{code="202",source="github"} 1)m"));
  CHECK(has_line(text, R"m(cascadence_webhook_requests_total{code="401",source="github"} 1)m"));
  CHECK(has_line(text, R"m(cascadence_webhook_requests_total{code="400",source="github"} 1)m"));
  CHECK(has_line(text, R"m(cascadence_webhook_requests_total{code="404",source="(unknown)"} 50)m"));
  CHECK(has_line(text, R"m(cascadence_webhook_deliveries_total{source="github",task_name="deploy"} 1)m"));
  CHECK(has_line(text, R"m(cascadence_webhook_deliveries_total{source="github",task_name="audit"} 1)m"));
  CHECK(text.find("stranger") == std::string::npos);
}

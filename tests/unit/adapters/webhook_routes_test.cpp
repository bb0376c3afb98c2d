#include "adapters/webhooks/webhook_routes.hpp"
#include "net/hmac.hpp"
#include "net/router.hpp"
#include "tests/support/run_async.hpp"

#include <doctest/doctest.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/json/parse.hpp>

#include <string>
#include <vector>

using namespace cascadence;
using namespace cascadence::adapters::webhooks;

namespace {

net::request post(std::string body) {
  net::request req;
  req.method = net::http_method::post;
  req.body = std::move(body);
  return req;
}

struct delivery final {
  std::string source, type;
  boost::json::value payload;
};

std::shared_ptr<webhook_task> recorder(std::vector<delivery>& into) {
  return make_webhook_task([&into](std::string s, std::string t, boost::json::value p) -> boost::asio::awaitable<void> {
    into.push_back({std::move(s), std::move(t), std::move(p)});
    co_return;
  });
}

}  // namespace

TEST_CASE("a signed GitHub delivery is accepted with its event type from X-GitHub-Event") {
  webhook_registry reg;
  reg.set_secret("github", "s3cret");
  auto req = post(R"({"ref":"refs/heads/main"})");
  req.headers.set("X-GitHub-Event", "push");
  req.headers.set("X-Hub-Signature-256", "sha256=" + net::hmac_sha256_hex("s3cret", req.body));
  const auto d = handle_delivery(req, "github", reg);
  CHECK(d.reply.status == 202);
  CHECK(d.reply.body == R"({"status":"received"})");
  REQUIRE(d.event);
  CHECK(d.event->type == "push");
  CHECK(d.event->payload.at("ref") == "refs/heads/main");
}

TEST_CASE("a missing or wrong signature is refused with 401 and delivers nothing") {
  webhook_registry reg;
  reg.set_secret("github", "s3cret");
  reg.set_secret("calcom", "cal");
  auto req = post("{}");
  req.headers.set("X-GitHub-Event", "push");
  auto d = handle_delivery(req, "github", reg);
  CHECK(d.reply.status == 401);
  CHECK(d.reply.body.find("missing signature") != std::string::npos);
  CHECK_FALSE(d.event);
  req.headers.set("X-Hub-Signature-256", "sha256=" + net::hmac_sha256_hex("other", req.body));
  d = handle_delivery(req, "github", reg);
  CHECK(d.reply.status == 401);
  CHECK_FALSE(d.event);
  // GitHub's header needs its prefix.
  req.headers.set("X-Hub-Signature-256", net::hmac_sha256_hex("s3cret", req.body));
  CHECK(handle_delivery(req, "github", reg).reply.status == 401);
  // Cal.com signs without a prefix.
  auto cal = post(R"({"triggerEvent":"BOOKING_CREATED"})");
  cal.headers.set("X-Cal-Signature-256", net::hmac_sha256_hex("wrong", cal.body));
  CHECK(handle_delivery(cal, "calcom", reg).reply.status == 401);
  cal.headers.set("X-Cal-Signature-256", net::hmac_sha256_hex("cal", cal.body));
  d = handle_delivery(cal, "calcom", reg);
  CHECK(d.reply.status == 202);
  REQUIRE(d.event);
  CHECK(d.event->type == "BOOKING_CREATED");
}

TEST_CASE("a generic source accepts its signature with or without the sha256= prefix") {
  webhook_registry reg;
  reg.set_secret("stripe", "k");
  auto req = post(R"({"type":"charge"})");
  req.headers.set("X-Cascadence-Signature-256", net::hmac_sha256_hex("k", req.body));
  auto d = handle_delivery(req, "stripe", reg);
  CHECK(d.reply.status == 202);
  REQUIRE(d.event);
  CHECK(d.event->type == "charge");
  req.headers.set("X-Cascadence-Signature-256", "sha256=" + net::hmac_sha256_hex("k", req.body));
  req.headers.set("X-Cascadence-Event", "refund");
  d = handle_delivery(req, "stripe", reg);
  REQUIRE(d.event);
  CHECK(d.event->type == "refund");
}

TEST_CASE("bad input gets 400 or 404 with a reason") {
  webhook_registry reg;
  auto req = post("{not json");
  req.headers.set("X-GitHub-Event", "push");
  auto d = handle_delivery(req, "github", reg);
  CHECK(d.reply.status == 400);
  CHECK(d.reply.body.find("malformed JSON") != std::string::npos);
  CHECK(handle_delivery(post("{}"), "github", reg).reply.status == 400);  // no X-GitHub-Event
  CHECK(handle_delivery(post(R"({"triggerEvent":5})"), "calcom", reg).reply.status == 400);
  CHECK(handle_delivery(post("[]"), "calcom", reg).reply.status == 400);
  d = handle_delivery(post("{}"), "nobody", reg);
  CHECK(d.reply.status == 404);
  CHECK(d.reply.body.find("unknown webhook source 'nobody'") != std::string::npos);
}

TEST_CASE("an accepted event reaches only the subscribers of its source and type, after the reply") {
  std::vector<delivery> push_only, all_github, other;
  auto reg = std::make_shared<webhook_registry>();
  reg->subscribe("github", {"push"}, "push_only", recorder(push_only));
  reg->subscribe("github", {}, "all_github", recorder(all_github));
  reg->subscribe("custom", {}, "other", recorder(other));
  boost::asio::io_context io;
  net::router routes;
  add_webhook_routes(routes, io.get_executor(), reg, {});
  const auto send = [&](std::string path, std::string event) {
    auto req = *net::request::from_target(net::http_method::post, path);
    req.body = R"({"n":1})";
    if (!event.empty()) req.headers.set("X-GitHub-Event", event);
    return test::run_async(io, routes.handle(req));
  };
  CHECK(send("/webhook/github", "issues").status == 202);
  CHECK(push_only.empty());
  REQUIRE(all_github.size() == 1);
  CHECK(all_github[0].type == "issues");
  CHECK(send("/webhook/github", "push").status == 202);
  CHECK(push_only.size() == 1);
  CHECK(send("/webhook/custom", "").status == 202);
  REQUIRE(other.size() == 1);
  CHECK(other[0].source == "custom");
  CHECK(other[0].type == "event");
  CHECK(send("/webhook/unknown", "").status == 404);
  auto get = *net::request::from_target(net::http_method::get, "/webhook/github");
  CHECK(test::run_async(io, routes.handle(get)).status == 405);
}

#include "adapters/webhooks/webhook_routes.hpp"
#include "net/hmac.hpp"
#include "net/router.hpp"
#include "tests/support/run_async.hpp"

#include <doctest/doctest.h>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>

#include <stdexcept>
#include <string>
#include <utility>
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

TEST_CASE("a Cal.com event type comes from the Cal-Event-Type header before the body's triggerEvent") {
  webhook_registry reg;
  reg.set_secret("calcom", "cal");
  auto cal = post(R"({"triggerEvent":"BOOKING_CREATED"})");
  cal.headers.set("X-Cal-Signature-256", net::hmac_sha256_hex("cal", cal.body));
  cal.headers.set("Cal-Event-Type", "BOOKING_CANCELLED");
  auto d = handle_delivery(cal, "calcom", reg);
  CHECK(d.reply.status == 202);
  REQUIRE(d.event);
  CHECK(d.event->type == "BOOKING_CANCELLED");
  // With the header alone, the body needs no triggerEvent.
  auto header_only = post(R"({"payload":{"uid":"b1"}})");
  header_only.headers.set("X-Cal-Signature-256", net::hmac_sha256_hex("cal", header_only.body));
  header_only.headers.set("Cal-Event-Type", "MEETING_ENDED");
  d = handle_delivery(header_only, "calcom", reg);
  REQUIRE(d.event);
  CHECK(d.event->type == "MEETING_ENDED");
  // An empty header is as good as none: the body's triggerEvent counts, and without it the answer is 400.
  cal.headers.set("Cal-Event-Type", "");
  d = handle_delivery(cal, "calcom", reg);
  REQUIRE(d.event);
  CHECK(d.event->type == "BOOKING_CREATED");
  header_only.headers.set("Cal-Event-Type", "");
  d = handle_delivery(header_only, "calcom", reg);
  CHECK(d.reply.status == 400);
  CHECK(d.reply.body.find("Cal-Event-Type header or a string 'triggerEvent'") != std::string::npos);
  CHECK_FALSE(d.event);
  // The signature still covers the body only, and a bad one still refuses.
  cal.headers.set("Cal-Event-Type", "BOOKING_CANCELLED");
  cal.headers.set("X-Cal-Signature-256", net::hmac_sha256_hex("wrong", cal.body));
  CHECK(handle_delivery(cal, "calcom", reg).reply.status == 401);
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

namespace {

struct recording_observer final : webhook_observer {
  std::vector<std::pair<std::string, unsigned>> requests;
  std::vector<std::pair<std::string, std::string>> deliveries;
  void on_request(std::string_view source, unsigned status) override { requests.emplace_back(source, status); }
  void on_delivery(std::string_view source, std::string_view subscriber) override {
    deliveries.emplace_back(source, subscriber);
  }
};

// Lets the loop run what is ready (the spawned deliveries) until `done`.
boost::asio::awaitable<void> until(const bool& done) {
  while (!done) co_await boost::asio::post(co_await boost::asio::this_coro::executor, boost::asio::use_awaitable);
}

}  // namespace

TEST_CASE("the observer hears every answer and hand-off, and never the name of an unknown source") {
  std::vector<delivery> first, second;
  auto reg = std::make_shared<webhook_registry>();
  reg->set_secret("github", "s3cret");
  reg->subscribe("github", {}, "first", recorder(first));
  reg->subscribe("github", {"push"}, "second", recorder(second));
  recording_observer observer;
  boost::asio::io_context io;
  net::router routes;
  add_webhook_routes(routes, io.get_executor(), reg, {}, &observer);
  const auto send = [&](const std::string& path, const std::string& secret) {
    auto req = *net::request::from_target(net::http_method::post, path);
    req.body = R"({"n":1})";
    req.headers.set("X-GitHub-Event", "push");
    req.headers.set("X-Hub-Signature-256", "sha256=" + net::hmac_sha256_hex(secret, req.body));
    return test::run_async(io, routes.handle(req)).status;
  };
  CHECK(send("/webhook/github", "s3cret") == 202);
  CHECK(send("/webhook/github", "wrong") == 401);
  CHECK(send("/webhook/made-up-source", "s3cret") == 404);
  using request = std::pair<std::string, unsigned>;
  CHECK(observer.requests ==
        std::vector<request>{{"github", 202}, {"github", 401}, {std::string(unknown_source), 404}});
  using handoff = std::pair<std::string, std::string>;
  CHECK(observer.deliveries == std::vector<handoff>{{"github", "first"}, {"github", "second"}});
  CHECK(first.size() == 1);
  CHECK(second.size() == 1);
}

TEST_CASE("each request reads the registry in force, and a delivery keeps its subscriber past a swap" *
          doctest::timeout(10)) {
  namespace asio = boost::asio;
  asio::io_context io;
  asio::steady_timer gate(io, asio::steady_timer::time_point::max());
  bool started = false, finished = false;
  auto slow = make_webhook_task(
      [&gate, &started, &finished](std::string, std::string, boost::json::value) -> asio::awaitable<void> {
        started = true;
        (void)co_await gate.async_wait(asio::as_tuple(asio::use_awaitable));
        finished = true;
      });
  const std::weak_ptr<webhook_task> slow_alive = slow;
  auto old_registry = std::make_shared<webhook_registry>();
  old_registry->subscribe("custom", {}, "slow", std::move(slow));
  std::vector<delivery> fresh, added;
  auto new_registry = std::make_shared<webhook_registry>();
  new_registry->subscribe("custom", {}, "fresh", recorder(fresh));
  new_registry->subscribe("added", {}, "added", recorder(added));

  std::shared_ptr<const webhook_registry> current = std::move(old_registry);
  net::router routes;
  add_webhook_routes(routes, io.get_executor(), [&current] { return current; }, {});
  const auto request = [](const std::string& path) {
    auto req = *net::request::from_target(net::http_method::post, path);
    req.body = "{}";
    return req;
  };
  auto scenario = [&]() -> asio::awaitable<bool> {
    auto to_custom = request("/webhook/custom");
    auto to_added = request("/webhook/added");
    CHECK((co_await routes.handle(to_added)).status == 404);  // not known yet
    CHECK((co_await routes.handle(to_custom)).status == 202);
    co_await until(started);
    current = new_registry;  // the reload: the old registry is freed here
    CHECK_FALSE(slow_alive.expired());
    CHECK((co_await routes.handle(to_custom)).status == 202);
    CHECK((co_await routes.handle(to_added)).status == 202);
    CHECK_FALSE(finished);
    gate.cancel();
    co_await until(finished);
    co_return true;
  };
  CHECK(test::run_async(io, scenario()));
  CHECK(finished);
  CHECK(slow_alive.expired());  // released once its delivery ended
  CHECK(fresh.size() == 1);
  CHECK(added.size() == 1);
}

namespace {

// A subscriber that throws before it returns its awaitable.
struct throws_at_once final : webhook_task {
  boost::asio::awaitable<void> handle_event(std::string, std::string, boost::json::value) override {
    throw std::runtime_error("refused at once");
  }
};

}  // namespace

TEST_CASE("a failing subscriber is reported, whether it throws at once or later, and the others still get the event") {
  std::vector<delivery> after;
  auto reg = std::make_shared<webhook_registry>();
  reg->subscribe("custom", {}, "at_once", std::make_shared<throws_at_once>());
  reg->subscribe("custom", {}, "later",
                 make_webhook_task([](std::string, std::string, boost::json::value) -> boost::asio::awaitable<void> {
                   throw std::runtime_error("failed while running");
                   co_return;
                 }));
  reg->subscribe("custom", {}, "after", recorder(after));
  boost::asio::io_context io;
  net::router routes;
  std::vector<std::string> errors;
  add_webhook_routes(routes, io.get_executor(), reg,
                     [&errors](std::string_view message) { errors.emplace_back(message); });
  auto req = *net::request::from_target(net::http_method::post, "/webhook/custom");
  req.body = R"({"type":"ping"})";
  CHECK(test::run_async(io, routes.handle(req)).status == 202);
  io.restart();
  io.run();  // the detached deliveries
  REQUIRE(errors.size() == 2);
  CHECK(errors[0] == "webhook custom/ping to at_once failed: refused at once");
  CHECK(errors[1] == "webhook custom/ping to later failed: failed while running");
  CHECK(after.size() == 1);
}

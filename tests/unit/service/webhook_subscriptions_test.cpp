#include "service/webhook_subscriptions.hpp"

#include "adapters/webhooks/webhook_routes.hpp"
#include "engine/graph.hpp"
#include "engine/runner.hpp"
#include "net/hmac.hpp"
#include "net/router.hpp"
#include "tests/support/run_async.hpp"

#include <doctest/doctest.h>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>

#include <cstdlib>
#include <string>
#include <vector>

using namespace cascadence;
namespace asio = boost::asio;
namespace webhooks = adapters::webhooks;

namespace {

// What a webhook run of a configured task did.
struct launched final {
  std::string task;
  engine::run_event event;
  boost::json::value output;
  engine::run_status status = engine::run_status::skipped;
};

// Runs the configured task on the configuration's graph, as `task serve`
// does, and records its output.
service::webhook_launch run_on(const engine::graph& g, std::vector<launched>& into) {
  return [&g, &into](std::string task, engine::run_event event, boost::json::value payload) -> asio::awaitable<void> {
    const engine::task_id targets[] = {*g.find(task)};
    engine::run_options options;
    options.input = std::move(payload);
    options.event = event;
    const auto report = co_await engine::run_graph(g, targets, std::move(options));
    const auto* record = report.find(targets[0]);
    REQUIRE(record != nullptr);
    into.push_back({std::move(task), std::move(event), record->output, record->status});
  };
}

struct delivery final {
  std::string source, type;
  boost::json::value payload;
};

// A built-in C++ webhook task: an object implementing webhook_task directly.
class recording_task final : public webhooks::webhook_task {
 public:
  std::vector<delivery> received;
  asio::awaitable<void> handle_event(std::string source, std::string event_type, boost::json::value payload) override {
    received.push_back({std::move(source), std::move(event_type), std::move(payload)});
    co_return;
  }
};

}  // namespace

TEST_CASE("a delivery reaches both a task subscribed in YAML and a C++ webhook task on the same registry" *
          doctest::timeout(30)) {
  const auto cfg = service::parse_config(R"(
webhook:
  secrets: {github: gh-secret}
tasks:
  deploy:
    command: cat
    on: {webhook: github, events: [push]}
  triage:
    echo: triaged
    on: {webhook: github, events: [issues]}
)",
                                         "test.yml");
  const auto graph = service::build_graph(cfg);
  std::vector<launched> runs;
  auto reg = service::make_webhook_registry(cfg, run_on(graph, runs));
  auto builtin = std::make_shared<recording_task>();
  reg->subscribe("github", {"push"}, "builtin-recorder", builtin);

  asio::io_context io;
  net::router routes;
  webhooks::add_webhook_routes(routes, io.get_executor(), reg, [](std::string_view m) { FAIL(std::string(m)); });
  auto req = *net::request::from_target(net::http_method::post, "/webhook/github");
  req.body = R"({"ref":"refs/heads/main","commits":[1,2]})";
  req.headers.set("X-GitHub-Event", "push");
  req.headers.set("X-Hub-Signature-256", "sha256=" + net::hmac_sha256_hex("gh-secret", req.body));
  // run_async runs the loop until every detached delivery has finished too.
  CHECK(test::run_async(io, routes.handle(req)).status == 202);

  const auto payload = boost::json::parse(req.body);
  REQUIRE(runs.size() == 1);  // triage listens to `issues` only
  CHECK(runs[0].task == "deploy");
  CHECK(runs[0].event.source == "github");
  CHECK(runs[0].event.type == "push");
  CHECK(runs[0].status == engine::run_status::success);
  CHECK(runs[0].output == payload);  // `cat` got the payload on stdin
  REQUIRE(builtin->received.size() == 1);
  CHECK(builtin->received[0].source == "github");
  CHECK(builtin->received[0].type == "push");
  CHECK(builtin->received[0].payload == payload);

  // The signature the configuration asks for guards the C++ task as well.
  req.headers.set("X-Hub-Signature-256", "sha256=" + net::hmac_sha256_hex("not-it", req.body));
  CHECK(test::run_async(io, routes.handle(req)).status == 401);
  CHECK(runs.size() == 1);
  CHECK(builtin->received.size() == 1);
}

TEST_CASE("the registry knows the configured sources and takes their secrets, the environment first") {
  const auto cfg = service::parse_config(R"(
webhook:
  secrets: {github: from-file, stripe: stripe-secret}
tasks:
  ship:
    echo: shipped
    on: {webhook: shop}
)",
                                         "test.yml");
  ::setenv("CASCADENCE_WEBHOOK_SECRET_GITHUB", "from-env", 1);
  ::setenv("CASCADENCE_WEBHOOK_SECRET_SHOP", "shop-env", 1);
  const auto reg = service::make_webhook_registry(
      cfg, [](std::string, engine::run_event, boost::json::value) -> asio::awaitable<void> { co_return; });
  ::unsetenv("CASCADENCE_WEBHOOK_SECRET_GITHUB");
  ::unsetenv("CASCADENCE_WEBHOOK_SECRET_SHOP");
  REQUIRE(reg->secret("github") != nullptr);
  CHECK(*reg->secret("github") == "from-env");
  REQUIRE(reg->secret("stripe") != nullptr);
  CHECK(*reg->secret("stripe") == "stripe-secret");
  REQUIRE(reg->secret("shop") != nullptr);
  CHECK(*reg->secret("shop") == "shop-env");
  CHECK(reg->secret("calcom") == nullptr);
  CHECK(reg->knows("shop"));
  CHECK(reg->knows("stripe"));
  CHECK(reg->knows("calcom"));
  CHECK_FALSE(reg->knows("elsewhere"));
  const auto subs = reg->subscribers("shop", "anything");
  REQUIRE(subs.size() == 1);
  CHECK(subs[0].name == "ship");
}

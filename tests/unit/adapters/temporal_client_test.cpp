// The Temporal HTTP-API client against servers written here with our own
// net::http_server, for the faults a real frontend cannot be made to show on
// demand: answers that are not JSON, a server that goes away during a wait,
// long polls that come back empty, 409s and 404s in grpc-gateway's shape.
// The behaviour against a real dev server is tested end to end
// (tests/e2e/test_temporal_*.py).

#include "adapters/temporal/temporal_client.hpp"
#include "adapters/temporal/schedule_spec.hpp"
#include "adapters/temporal/workflow_processor.hpp"
#include "engine/graph.hpp"
#include "engine/runner.hpp"
#include "net/http_server.hpp"
#include "net/json.hpp"
#include "scheduling/cron_expression.hpp"
#include "scheduling/iso_time.hpp"
#include "scheduling/time_zone.hpp"
#include "tests/unit/net/net_test_support.hpp"

#include <doctest/doctest.h>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <atomic>
#include <string>

using namespace cascadence;
using namespace cascadence::test;
using namespace std::chrono_literals;
namespace temporal = cascadence::adapters::temporal;
namespace json = boost::json;

namespace {

struct fixture final : route_server {
  [[nodiscard]] temporal::settings settings(std::chrono::milliseconds timeout = 2s) const {
    temporal::settings s;
    s.http_address = "http://127.0.0.1:" + std::to_string(server->port());
    s.timeout = timeout;
    return s;
  }
};

net::response grpc_error(unsigned status, int code, std::string message, json::array details = {}) {
  return net::json_response(status,
                            json::object{{"code", code}, {"message", std::move(message)}, {"details", details}});
}

json::object close_event(std::string attributes_key, json::object attributes) {
  json::object ev{{"eventId", "9"}, {"eventType", "EVENT_TYPE_WORKFLOW_EXECUTION_COMPLETED"}};
  ev[attributes_key] = std::move(attributes);
  return ev;
}

net::response history_page(json::array events, std::string token = {}) {
  json::object body{{"history", json::object{{"events", std::move(events)}}}};
  if (!token.empty()) body["nextPageToken"] = token;
  return net::json_response(200, body);
}

}  // namespace

TEST_CASE("a start names the workflow, queue, input and request id, and a 409 says which run is running" *
          doctest::timeout(20)) {
  fixture f;
  json::value seen;
  int starts = 0;
  f.routes.post("/api/v1/namespaces/{ns}/workflows/{id}", [&](net::request& req) {
    seen = json::parse(req.body);
    if (++starts == 1) return net::json_response(200, json::object{{"runId", "run-1"}, {"started", true}});
    return grpc_error(409, 6, "Workflow execution is already running.",
                      json::array{json::object{{"@type",
                                                "type.googleapis.com/temporal.api.errordetails.v1."
                                                "WorkflowExecutionAlreadyStartedFailure"},
                                               {"runId", "run-1"}}});
  });
  f.start();
  temporal::client c(f.io.get_executor(), f.settings());
  temporal::start_request req;
  req.workflow_id = "hello-42";
  req.workflow_type = "hello";
  req.args.push_back(json::object{{"name", "ada"}});
  req.request_id = "11111111-2222-4333-8444-555555555555";
  req.execution_timeout = 1500ms;
  auto [first, second] = f.run(
      [&]()
          -> asio::awaitable<std::pair<temporal::result<temporal::execution>, temporal::result<temporal::execution>>> {
        auto a = co_await c.start(req);
        auto b = co_await c.start(req);
        co_return std::pair{std::move(a), std::move(b)};
      }());
  REQUIRE(first);
  CHECK(first->run_id == "run-1");
  CHECK(seen.at("workflowType").at("name") == "hello");
  CHECK(seen.at("taskQueue").at("name") == "cascadence");
  CHECK(seen.at("requestId") == "11111111-2222-4333-8444-555555555555");
  CHECK(seen.at("workflowExecutionTimeout") == "1.500s");
  // The standard payload: base64 of json/plain and of the JSON text.
  const auto& payload = seen.at("input").at("payloads").at(0);
  CHECK(payload.at("metadata").at("encoding") == "anNvbi9wbGFpbg==");
  CHECK(payload.at("data") == "eyJuYW1lIjoiYWRhIn0=");
  REQUIRE_FALSE(second);
  CHECK(second.error().code == temporal::errc::already_started);
  CHECK(second.error().run_id == "run-1");
  CHECK(second.error().message ==
        "temporal " + f.settings().http_address + ": workflow hello-42 is already running, run id run-1");
}

TEST_CASE("workflow ids with '/' and requests over 4 MiB are refused before anything is sent" * doctest::timeout(20)) {
  fixture f;
  int calls = 0;
  f.routes.post("/api/v1/namespaces/{ns}/workflows/{id}", [&](net::request&) {
    ++calls;
    return net::json_response(200, json::object{{"runId", "r"}});
  });
  f.start();
  temporal::client c(f.io.get_executor(), f.settings());
  temporal::start_request slash;
  slash.workflow_id = "a/b";
  slash.workflow_type = "t";
  temporal::start_request big;
  big.workflow_id = "big";
  big.workflow_type = "t";
  big.args.emplace_back(std::string(4 * 1024 * 1024, 'x'));
  auto [a, b] = f.run(
      [&]()
          -> asio::awaitable<std::pair<temporal::result<temporal::execution>, temporal::result<temporal::execution>>> {
        auto x = co_await c.start(slash);
        auto y = co_await c.start(big);
        co_return std::pair{std::move(x), std::move(y)};
      }());
  REQUIRE_FALSE(a);
  CHECK(a.error().code == temporal::errc::invalid);
  CHECK(a.error().message.find("contains '/'") != std::string::npos);
  REQUIRE_FALSE(b);
  CHECK(b.error().code == temporal::errc::too_large);
  CHECK(b.error().message.find("more than the 4 MiB") != std::string::npos);
  CHECK(calls == 0);
}

TEST_CASE("an answer that is not JSON, an unknown namespace and a refused key are errors of their own kind" *
          doctest::timeout(20)) {
  fixture f;
  f.routes.get("/api/v1/system-info", [](net::request&) { return net::response::text(200, "<html>proxy</html>"); });
  f.routes.get("/api/v1/namespaces/{ns}", [](net::request& req) {
    if (req.header("Authorization").value_or("") != "Bearer sekrit")
      return grpc_error(401, 16, "Request unauthorized.");
    return grpc_error(404, 5, "Namespace nope is not found.");
  });
  f.start();
  auto s = f.settings();
  s.ns = "nope";
  temporal::client anonymous(f.io.get_executor(), s);
  s.api_key = "sekrit";
  temporal::client keyed(f.io.get_executor(), s);
  auto [version, denied, missing] =
      f.run([&]() -> asio::awaitable<std::tuple<temporal::result<std::string>, temporal::result<json::object>,
                                                temporal::result<json::object>>> {
        auto v = co_await anonymous.server_version();
        auto d = co_await anonymous.describe_namespace();
        auto m = co_await keyed.describe_namespace();
        co_return std::tuple{std::move(v), std::move(d), std::move(m)};
      }());
  REQUIRE_FALSE(version);
  CHECK(version.error().code == temporal::errc::bad_answer);
  CHECK(version.error().message.find("GET /api/v1/system-info: the answer is not JSON") != std::string::npos);
  REQUIRE_FALSE(denied);
  CHECK(denied.error().code == temporal::errc::denied);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == temporal::errc::not_found);
  CHECK(missing.error().message == "temporal " + s.http_address + ": namespace 'nope' does not exist");
}

TEST_CASE("waiting repeats empty long polls with the page token and follows continue-as-new" * doctest::timeout(20)) {
  fixture f;
  std::vector<std::string> targets;
  f.routes.get("/api/v1/namespaces/{ns}/workflows/{id}/history", [&](net::request& req) {
    targets.emplace_back(req.target);
    const auto run = req.query_value("execution.runId").value_or("");
    if (run == "r1" && req.query_value("nextPageToken").value_or("").empty()) {
      return history_page({}, "dG9rZW4=");  // the poll expired: no events, a token
    }
    if (run == "r1") {
      return history_page(json::array{
          close_event("workflowExecutionContinuedAsNewEventAttributes", json::object{{"newExecutionRunId", "r2"}})});
    }
    // Shorthand payloads, the HTTP API's default.
    return history_page(json::array{close_event("workflowExecutionCompletedEventAttributes",
                                                json::object{{"result", json::array{json::object{{"n", 2}}}}})});
  });
  f.start();
  temporal::client c(f.io.get_executor(), f.settings());
  auto closed = f.run(c.await_close(temporal::execution{"w", "r1"}));
  REQUIRE(closed);
  CHECK(closed->status == temporal::close_status::completed);
  CHECK(closed->run_id == "r2");
  CHECK(json::serialize(closed->result) == R"({"n":2})");
  REQUIRE(targets.size() == 3);
  CHECK(targets[0].find("waitNewEvent=true") != std::string::npos);
  CHECK(targets[0].find("historyEventFilterType=2") != std::string::npos);
  CHECK(targets[1].find("nextPageToken=dG9rZW4%3D") != std::string::npos);
  CHECK(targets[2].find("execution.runId=r2") != std::string::npos);
}

TEST_CASE("a wait rides out a server that answers 503 for a while, and gives up after temporal.timeout" *
          doctest::timeout(30)) {
  fixture f;
  std::atomic<int> polls{0};
  bool recover = true;
  f.routes.get("/api/v1/namespaces/{ns}/workflows/{id}/history", [&](net::request&) {
    if (++polls < 4 || !recover) return grpc_error(503, 14, "frontend restarting");
    return history_page(json::array{close_event(
        "workflowExecutionFailedEventAttributes",
        json::object{{"failure", json::object{{"message", "boom"},
                                              {"applicationFailureInfo",
                                               json::object{{"type", "BoomError"}, {"nonRetryable", true}}}}},
                     {"retryState", "RETRY_STATE_NON_RETRYABLE_FAILURE"}})});
  });
  f.start();
  temporal::client c(f.io.get_executor(), f.settings(3s));
  auto closed = f.run(c.await_close(temporal::execution{"w", "r"}));
  REQUIRE(closed);
  CHECK(closed->status == temporal::close_status::failed);
  CHECK(closed->failure.find("boom") != std::string::npos);
  CHECK(closed->failure.find("BoomError") != std::string::npos);
  CHECK(closed->failure.find("retry state: non retryable failure") != std::string::npos);
  CHECK(polls >= 4);

  recover = false;
  temporal::client impatient(f.io.get_executor(), f.settings(300ms));
  auto gave_up = f.run(impatient.await_close(temporal::execution{"w", "r"}));
  REQUIRE_FALSE(gave_up);
  CHECK(gave_up.error().code == temporal::errc::timed_out);
  CHECK(gave_up.error().message.find("gave up waiting for workflow w") != std::string::npos);
}

TEST_CASE("a task on Temporal reports the workflow's result as its output, and its failure as its error" *
          doctest::timeout(20)) {
  fixture f;
  f.routes.post("/api/v1/namespaces/{ns}/workflows/{id}", [](net::request&) {
    return net::json_response(200, json::object{{"runId", "r"}});
  });
  f.routes.get("/api/v1/namespaces/{ns}/workflows/{id}/history", [](net::request& req) {
    if (req.param("id").value_or("").starts_with("bad")) {
      return history_page(json::array{close_event("workflowExecutionTimedOutEventAttributes",
                                                  json::object{{"retryState", "RETRY_STATE_TIMEOUT"}})});
    }
    return history_page(json::array{close_event(
        "workflowExecutionCompletedEventAttributes",
        json::object{
            {"result", json::object{{"payloads", json::array{json::object{
                                                     {"metadata", json::object{{"encoding", "anNvbi9wbGFpbg=="}}},
                                                     {"data", "ImRvbmUi"}}}}}}})});
  });
  f.start();
  engine::graph_builder b;
  b.add({"good", temporal::make_workflow_processor(f.settings(), {"good", "good", 0ms}), {}});
  b.add({"bad", temporal::make_workflow_processor(f.settings(), {"bad", "bad", 0ms}), {}});
  auto g = std::move(b).build();
  REQUIRE(g);
  const engine::task_id targets[] = {0, 1};
  auto report = f.run(engine::run_graph(*g, targets, engine::run_options{}));
  REQUIRE(report.records.size() == 2);
  const auto* good = report.find(0);
  const auto* bad = report.find(1);
  REQUIRE(good != nullptr);
  REQUIRE(bad != nullptr);
  CHECK(good->status == engine::run_status::success);
  CHECK(good->output == "done");
  CHECK(bad->status == engine::run_status::failed);
  CHECK(bad->error.starts_with("workflow bad-"));
  CHECK(bad->error.find("timed out (retry state: timeout)") != std::string::npos);
}

TEST_CASE("cron schedules become Temporal calendars with the same meaning, or are refused" * doctest::timeout(20)) {
  const auto utc = scheduling::time_zone::utc();
  const auto now = std::chrono::sys_seconds(std::chrono::seconds(1'800'000'000));  // 2027-01-15
  const auto spec_of = [&](std::string_view text, const scheduling::time_zone& zone) {
    auto expr = scheduling::cron_expression::parse(text);
    REQUIRE(expr);
    return temporal::calendar_spec(*expr, zone, 0ms, now);
  };

  auto every5 = spec_of("*/5 * * * *", utc);
  REQUIRE(every5);
  CHECK(temporal::describe_spec(*every5) == "0 */5 * * * *");
  const auto& cal = every5->at("structuredCalendar").as_array().at(0).as_object();
  CHECK(json::serialize(cal.at("second")) == R"([{"start":0,"end":0,"step":1}])");
  CHECK(json::serialize(cal.at("minute")) == R"([{"start":0,"end":55,"step":5}])");
  CHECK(json::serialize(cal.at("hour")) == R"([{"start":0,"end":23,"step":1}])");
  // Lists and ranges: the longest arithmetic runs, exactly the same values.
  auto mixed = spec_of("1-3,9,10-50/20 8-17 * * *", utc);
  REQUIRE(mixed);
  CHECK(temporal::describe_spec(*mixed) == "0 1-3,9-10,30-50/20 8-17 * * *");

  // Seconds fields are kept.
  auto seconds = spec_of("*/20 * * * * *", utc);
  REQUIRE(seconds);
  CHECK(temporal::describe_spec(*seconds) == "*/20 * * * * *");

  // Cron's either-day rule: two calendars, read back as one line.
  auto either = spec_of("0 9 1 * MON", utc);
  REQUIRE(either);
  CHECK(either->at("structuredCalendar").as_array().size() == 2);
  CHECK(temporal::describe_spec(*either) == "0 0 9 1 * 1");

  auto never = spec_of("0 0 30 2 *", utc);
  REQUIRE_FALSE(never);
  CHECK(never.error().find("never fires") != std::string::npos);

  // A fixed time inside Berlin's spring-forward gap (02:00-03:00) is refused;
  // wildcard times and times outside the change are not.
  auto berlin = scheduling::time_zone::locate("Europe/Berlin");
  REQUIRE(berlin);
  auto gap = spec_of("30 2 * * *", *berlin);
  REQUIRE_FALSE(gap);
  CHECK(gap.error().find("DST change") != std::string::npos);
  CHECK(gap.error().find("skips") != std::string::npos);
  CHECK(spec_of("30 4 * * *", *berlin));
  CHECK(spec_of("*/10 * * * *", *berlin));
  auto zoned = spec_of("30 4 * * *", *berlin);
  CHECK(zoned->at("timezoneName") == "Europe/Berlin");

  CHECK(temporal::overlap_name("buffer_one") == "BUFFER_ONE");
}

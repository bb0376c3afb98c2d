#include "service/run_report_json.hpp"

#include "engine/builtin_processors.hpp"
#include "engine/graph.hpp"
#include "engine/runner.hpp"

#include <doctest/doctest.h>

#include <boost/json/serialize.hpp>

#include <variant>

using namespace cascadence;

namespace {

engine::graph two_tasks() {
  engine::graph_builder b;
  const auto a = b.add({"a", engine::make_echo_processor(nullptr), {}});
  const auto c = b.add({"c", engine::make_echo_processor(nullptr), {}});
  b.add_dependency(c, a);
  auto built = std::move(b).build();
  return std::move(built.value());
}

}  // namespace

TEST_CASE("a task record names the task under both keys and gives its times in UTC") {
  const auto g = two_tasks();
  engine::task_record r;
  r.task = *g.find("a");
  r.status = engine::run_status::failed;
  r.attempts = 2;
  r.started = std::chrono::system_clock::time_point{} + std::chrono::seconds(1);
  r.finished = r.started + std::chrono::milliseconds(1500);
  r.error = "exit status 3";
  const auto o = service::task_record_json(g, r);
  CHECK(o.at("name") == "a");
  CHECK(o.at("task") == "a");
  CHECK(o.at("status") == "failed");
  CHECK(o.at("attempts") == 2);
  CHECK(o.at("started") == "1970-01-01T00:00:01.000Z");
  CHECK(o.at("finished") == "1970-01-01T00:00:02.500Z");
  CHECK(o.at("duration_ms").as_double() == doctest::Approx(1500.0));
  CHECK(o.at("error") == "exit status 3");
}

TEST_CASE("a task that never started has no times and no error") {
  const auto g = two_tasks();
  engine::task_record r;
  r.task = *g.find("c");
  r.status = engine::run_status::skipped;
  const auto o = service::task_record_json(g, r);
  CHECK(o.at("started").is_null());
  CHECK(o.at("finished").is_null());
  CHECK(o.at("error").is_null());
  CHECK(o.at("duration_ms").as_double() == 0.0);
}

TEST_CASE("a run's outcome is success, cancelled or failed") {
  const auto g = two_tasks();
  engine::run_report report;
  engine::task_record ok;
  ok.task = *g.find("a");
  ok.status = engine::run_status::success;
  report.records = {ok, ok};
  CHECK(service::run_outcome(report) == "success");
  report.cancel_reason = "SIGTERM";
  CHECK(service::run_outcome(report) == "success");  // settled before the cancel reached it
  report.records[1].status = engine::run_status::skipped;
  CHECK(service::run_outcome(report) == "cancelled");
  report.cancel_reason.clear();
  CHECK(service::run_outcome(report) == "failed");
  report.records[1].status = engine::run_status::cancelled;
  CHECK(service::run_outcome(report) == "cancelled");
  CHECK(service::run_outcome(engine::run_report{}) == "failed");
  const auto whole = service::run_report_json(g, report, "cancelled");
  CHECK(whole.at("status") == "cancelled");
  CHECK(whole.at("tasks").as_array().size() == 2);
}

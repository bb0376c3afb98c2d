// Reading and checking Temporal histories (adapters/temporal/history.hpp);
// the exported fixtures are read end to end in tests/e2e/test_temporal_replay.py.

#include "adapters/temporal/history.hpp"

#include <doctest/doctest.h>

#include <string>
#include <vector>

namespace temporal = cascadence::adapters::temporal;

namespace {

std::string event(int id, const std::string& type, const std::string& attributes = {}) {
  return R"({"eventId":")" + std::to_string(id) + R"(","eventType":")" + type + "\"" +
         (attributes.empty() ? std::string() : "," + attributes) + "}";
}

std::vector<temporal::history_event> read(const std::string& text) {
  std::vector<temporal::history_event> out;
  const auto e = temporal::read_history(text, out);
  REQUIRE_FALSE(e);
  return out;
}

}  // namespace

TEST_CASE("both event-type spellings read as one") {
  CHECK(temporal::canonical_event_type("EVENT_TYPE_ACTIVITY_TASK_SCHEDULED") == "ACTIVITY_TASK_SCHEDULED");
  CHECK(temporal::canonical_event_type("ActivityTaskScheduled") == "ACTIVITY_TASK_SCHEDULED");
  CHECK(temporal::canonical_event_type("WorkflowExecutionStarted") == "WORKFLOW_EXECUTION_STARTED");
}

TEST_CASE("documents: {events}, {history: {events}} or a bare array; unknown keys ignored") {
  const auto started =
      event(1, "WorkflowExecutionStarted",
            R"("someFutureKey":1,"workflowExecutionStartedEventAttributes":{"workflowType":{"name":"w"}})");
  CHECK(read(R"({"events":[)" + started + "]}").at(0).workflow_type == "w");
  CHECK(read(R"({"history":{"events":[)" + started + "]}}").at(0).id == 1);
  CHECK(read("[" + started + "]").size() == 1);
}

TEST_CASE("a broken document names the event it broke in") {
  std::vector<temporal::history_event> out;
  const std::string text =
      R"({"events":[)" + event(1, "WorkflowExecutionStarted") + "," + event(2, "WorkflowTaskScheduled");
  auto cut = temporal::read_history(text.substr(0, text.size() - 5), out);
  REQUIRE(cut);
  CHECK(cut->index == 1);
  CHECK(cut->message.find("truncated") != std::string::npos);
  auto garbage = temporal::read_history(R"({"events":[)" + event(1, "X") + ",{\"eventId\":\"2\",]}", out);
  REQUIRE(garbage);
  CHECK(garbage->index == 1);
  CHECK(garbage->message.find("invalid JSON at byte") != std::string::npos);
  auto not_history = temporal::read_history(R"({"workflows":[]})", out);
  REQUIRE(not_history);
  CHECK(not_history->index == -1);
  auto no_type = temporal::read_history(R"({"events":[{"eventId":"1"}]})", out);
  REQUIRE(no_type);
  CHECK(no_type->message == "event 1 has no eventType");
}

TEST_CASE("the checks: order, dependencies, unknown activities, double completion, unfinished work") {
  const auto sched = [](int id, const std::string& activity) {
    return event(id, "ActivityTaskScheduled",
                 R"("activityTaskScheduledEventAttributes":{"activityType":{"name":")" + activity + "\"}}");
  };
  const auto done = [](int id, int scheduled) {
    return event(id, "ActivityTaskCompleted",
                 R"("activityTaskCompletedEventAttributes":{"scheduledEventId":")" + std::to_string(scheduled) + "\"}");
  };
  const temporal::dependency_map graph{{"a", {}}, {"b", {"a"}}};
  const auto check = [&](const std::vector<std::string>& evs, const temporal::dependency_map* g) {
    std::string text = "[";
    for (const auto& e : evs) text += (text.size() > 1 ? "," : "") + e;
    return temporal::check_history(read(text + "]"), g);
  };
  const auto start = event(1, "WorkflowExecutionStarted");
  CHECK_FALSE(check(
      {start, sched(2, "a"), done(3, 2), sched(4, "b"), done(5, 4), event(6, "WorkflowExecutionCompleted")}, &graph));

  auto early = check({start, sched(2, "b")}, &graph);
  REQUIRE(early);
  CHECK(early->event_id == 2);
  CHECK(early->expected == "b scheduled after a completed");

  auto unknown = check({start, sched(2, "zz")}, &graph);
  REQUIRE(unknown);
  CHECK(unknown->found == "activity zz");
  CHECK_FALSE(check({start, sched(2, "zz")}, nullptr));

  auto twice = check({start, sched(2, "a"), done(3, 2), done(4, 2)}, nullptr);
  REQUIRE(twice);
  CHECK(twice->event_id == 4);

  auto unfinished = check({start, sched(2, "a"), event(3, "WorkflowExecutionCompleted")}, nullptr);
  REQUIRE(unfinished);
  CHECK(unfinished->event_id == 3);

  auto gap = check({start, event(3, "WorkflowTaskScheduled")}, nullptr);
  REQUIRE(gap);
  CHECK(gap->expected == "event id 2");

  auto after_close = check({start, event(2, "WorkflowExecutionCompleted"), event(3, "WorkflowTaskScheduled")}, nullptr);
  REQUIRE(after_close);
  CHECK(after_close->event_id == 3);

  auto orphan = check({start, done(2, 9)}, nullptr);
  REQUIRE(orphan);
  CHECK(orphan->found == "ACTIVITY_TASK_COMPLETED for scheduled event 9");
}

#include "adapters/events/event_json.hpp"

#include "core/time_text.hpp"
#include "engine/graph.hpp"
#include "engine/runner.hpp"

namespace cascadence::adapters::events {

namespace json = boost::json;

namespace {

json::value hash_or_null(const engine::task_record& record) {
  if (record.user_hash.empty()) return nullptr;
  return json::string(record.user_hash);
}

json::value time_or_null(std::chrono::system_clock::time_point t) {
  if (t == std::chrono::system_clock::time_point{}) return nullptr;
  return json::string(core::format_utc(t));
}

}  // namespace

json::object task_spec_json(const engine::graph& g, const engine::task_record& record) {
  json::object spec;
  spec["id"] = record.id.to_string();
  spec["name"] = g.name(record.task);
  spec["description"] = g.settings(record.task).description;
  spec["user_hash"] = hash_or_null(record);
  return spec;
}

json::object task_started_event(const engine::graph& g, const engine::task_record& record, unsigned attempt) {
  json::object event = task_spec_json(g, record);
  event["version"] = schema_version;
  event["type"] = "task_spec";
  event["run_id"] = record.run.to_string();
  event["attempt"] = attempt;
  return event;
}

json::object task_settled_event(const engine::graph& g, const engine::task_record& record) {
  json::object event;
  event["version"] = schema_version;
  event["type"] = "task_run";
  event["spec"] = task_spec_json(g, record);
  event["run_id"] = record.run.to_string();
  event["status"] = engine::to_string(record.status);
  // A task that never ran an attempt (skipped, cancelled first) never started.
  event["started_at"] = record.attempts == 0 ? json::value(nullptr) : time_or_null(record.started);
  event["finished_at"] = time_or_null(record.finished);
  event["user_hash"] = hash_or_null(record);
  event["attempt"] = record.attempts;
  if (record.error.empty()) {
    event["error"] = nullptr;
  } else {
    event["error"] = record.error;
  }
  return event;
}

}  // namespace cascadence::adapters::events

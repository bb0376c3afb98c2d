#pragma once

#include <string>

namespace cascadence::engine {
class graph;
struct task_record;
}  // namespace cascadence::engine

namespace cascadence::adapters::events {

/// The version of the event schema (docs/events.md); bumped only when a
/// field changes meaning or goes away, never for an added field.
inline constexpr int schema_version = 1;

// The event JSON is written straight into a string, not built as a
// boost::json::object first: events are made for every task of every run,
// and the tree's allocations cost more than the run of an immediate task.

/// The event sent when attempt `attempt` of a task starts, one line of
/// JSON: the seed's task spec `{"id", "name", "description", "user_hash"}`
/// (`id`: the task's own id in the run, task_record::id; `user_hash` null
/// when nobody was named) plus `version`, `type: "task_spec"`, `run_id` (the
/// graph run) and `attempt`.
[[nodiscard]] std::string task_started_event(const engine::graph& g, const engine::task_record& record,
                                             unsigned attempt);

/// The event sent when a task settled: the seed's task run `{"spec",
/// "run_id", "status", "started_at", "finished_at", "user_hash"}` plus
/// `version`, `type: "task_run"`, `attempt` (attempts made) and `error`
/// (null on success). Times are ISO 8601 UTC with milliseconds;
/// `started_at` is null for a task that never started an attempt.
[[nodiscard]] std::string task_settled_event(const engine::graph& g, const engine::task_record& record);

}  // namespace cascadence::adapters::events

#pragma once

// The one JSON form of a run report, shared by `task run --json` and the
// REST API (`GET /api/v1/runs/{id}`, `?wait=true`).

#include <boost/json/object.hpp>

#include <string_view>

namespace cascadence::engine {
class graph;
struct task_record;
struct run_report;
}  // namespace cascadence::engine

namespace cascadence::service {

/// One task of a run: `{"name", "task" (both its name: `task run --json`
/// said "name", the API "task"), "run_id", "status", "attempts", "started",
/// "finished" (ISO 8601 UTC, null for a task that never started),
/// "duration_ms", "output", "error" (null when none)}`.
[[nodiscard]] boost::json::object task_record_json(const engine::graph& g, const engine::task_record& r);

/// What a whole run came to: `success` when every task succeeded (whatever
/// reached its canceller afterwards), `cancelled` when it was cancelled or
/// a task was, else `failed`.
[[nodiscard]] std::string_view run_outcome(const engine::run_report& report);

/// `{"run_id", "status", "tasks": [task_record_json...]}`; `status` is
/// run_outcome() unless the caller knows better (a signal cancelled it).
[[nodiscard]] boost::json::object run_report_json(const engine::graph& g, const engine::run_report& report,
                                                  std::string_view status);

}  // namespace cascadence::service

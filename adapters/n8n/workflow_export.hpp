#pragma once

// A task graph as an n8n workflow (docs/n8n.md): a Manual Trigger runs the
// whole graph, one HTTP Request per task asks a running `task serve` to run
// that task alone, a Code node after it stops the workflow unless the run
// succeeded, Merge nodes wait for every dependency; each scheduled task gets
// a Schedule Trigger of its own that runs it with its dependencies.

#include "adapters/n8n/n8n_cron.hpp"
#include "core/result.hpp"

#include <boost/json/object.hpp>

#include <string>
#include <vector>

namespace cascadence::adapters::n8n {

/// One task of the graph to export.
struct task_node final {
  std::string name;
  /// manual, cron or webhook (shown in the node's notes).
  std::string kind{};
  /// The tasks it runs after; each must be in the exported list.
  std::vector<std::string> after{};
  /// The cron expression in force (ours); empty when unscheduled.
  std::string schedule{};
  /// The schedule's IANA zone (the configuration's when the entry names none).
  std::string timezone{};
  /// A paused schedule is exported as a disabled trigger.
  bool paused = false;
};

/// How the workflow reaches Cascadence.
struct export_options final {
  /// The `task serve` to call, e.g. `http://127.0.0.1:8080` (no trailing slash needed).
  std::string base_url{};
  std::string workflow_name = "Cascadence";
  /// The workflow's time zone when no task is scheduled.
  std::string timezone = "UTC";
  /// When true, every request carries an n8n Header Auth credential
  /// reference (never the token itself).
  bool authenticate = false;
  std::string credential_id = "cascadenceApiTok";
  std::string credential_name = "Cascadence API";
};

/// Horizontal and vertical distance between nodes on the canvas.
inline constexpr int column_width = 220;
inline constexpr int row_height = 160;

/// The workflow of `tasks` (any order), checked by check_workflow() before
/// it is returned; or why n8n cannot run it the way Cascadence would.
[[nodiscard]] core::result<boost::json::object, refusal> export_workflow(const std::vector<task_node>& tasks,
                                                                         const export_options& options);

/// The percent-encoded form of a task name for a URL path segment.
[[nodiscard]] std::string encode_path_segment(std::string_view text);

}  // namespace cascadence::adapters::n8n

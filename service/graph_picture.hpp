#pragma once

// `task graph`: the configuration's task graph as a picture to look at
// (Graphviz DOT, Mermaid flowchart) or as JSON, optionally coloured by the
// task statuses of one run.

#include "scheduling/schedule.hpp"
#include "service/config.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cascadence::service {

/// One task of a picture.
struct picture_node final {
  std::string name;
  /// manual, cron, webhook or remote.
  std::string kind;
  std::string description;
  bool enabled = true;
  /// The schedule in force, if any.
  std::optional<scheduling::schedule_entry> schedule;
  /// The tasks it runs after, each a node of the same picture.
  std::vector<std::string> after;
  /// Its status in the run the picture is coloured by: a task status (success, failed, timed_out,
  /// cancelled, skipped), `running` while the run goes on, `not_in_run`; empty when not coloured.
  std::string status;
};

/// A run the picture is coloured by.
struct picture_run final {
  std::string run_id;
  std::string task;
  std::string status;
};

/// Tasks in dependency order (a task after those it runs after), each once.
struct graph_picture final {
  std::vector<picture_node> nodes;
  std::optional<picture_run> run;
};

/// The tasks of `cfg` (all of them when `targets` is empty, else the targets and their transitive
/// dependencies), with the schedules in force `schedules` (entries for other tasks are ignored). The
/// configuration is a validated one: every target and dependency exists and there is no cycle.
[[nodiscard]] graph_picture make_graph_picture(const config& cfg,
                                               const std::vector<scheduling::schedule_entry>& schedules,
                                               const std::vector<std::string>& targets);

/// Colours `picture` by a run as `GET /api/v1/runs/{id}` answers it (`{"run_id", "task", "status",
/// "tasks": [{"task", "status"}...]}`). Returns why it cannot when the answer has another shape; tasks of the
/// run that the picture does not have are listed in `missing` (the configuration changed since).
[[nodiscard]] std::optional<std::string> colour_by_run(graph_picture& picture, const boost::json::value& run,
                                                       std::vector<std::string>& missing);

/// Graphviz DOT: one quoted node per task, labels escaped, edges from a dependency to its dependent.
[[nodiscard]] std::string to_dot(const graph_picture& picture);

/// A Mermaid `flowchart LR`: node ids made of `[A-Za-z0-9_]` only (see mermaid_id()), quoted labels with
/// Mermaid's entity codes for the characters its grammar reserves, `-->` edges and one class per status.
[[nodiscard]] std::string to_mermaid(const graph_picture& picture);

/// A task name as a Mermaid node id: `t_` and the name with every byte outside `[A-Za-z0-9]` written as
/// `_` and two hex digits (`_` itself as `__`), so distinct names never share an id and no id is a keyword.
[[nodiscard]] std::string mermaid_id(std::string_view name);

/// `{"nodes": [{"name", "kind", "description", "enabled", "schedule": null | {"expression", "timezone",
/// "paused"}, "after", "status"?}], "edges": [{"from", "to"}], "run"?: {"run_id", "task", "status"}}`.
[[nodiscard]] boost::json::object to_json(const graph_picture& picture);

}  // namespace cascadence::service

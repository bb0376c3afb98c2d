#pragma once

// Workflow histories as `temporal workflow show -o json`, the Temporal UI's
// download and the HTTP API give them: read in both event-type spellings
// (EVENT_TYPE_ACTIVITY_TASK_SCHEDULED and the gogo-era ActivityTaskScheduled),
// unknown keys ignored; and checked against a task graph.

#include <boost/json/fwd.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace cascadence::adapters::temporal {

/// One event, reduced to what a timeline and the checks need.
struct history_event final {
  std::int64_t id = 0;
  std::string time;
  /// Canonical spelling without its prefix: "ACTIVITY_TASK_SCHEDULED".
  std::string type;
  /// The activity's type (scheduled) or that of the activity it refers to.
  std::string activity;
  /// The scheduled event an activity event refers to (0: none).
  std::int64_t scheduled_event_id = 0;
  int attempt = 0;
  /// The result (as JSON text) or the failure, in one line.
  std::string detail;
  /// WORKFLOW_EXECUTION_STARTED: the workflow type.
  std::string workflow_type;
};

/// A history that cannot be read: where (event index from 0, or -1 for the
/// document) and why.
struct history_error final {
  long index = -1;
  std::string message;
};

/// Reads a history document: {"events": [...]}, {"history": {"events":
/// [...]}} or a bare array of events. Truncated or garbage text names the
/// event it broke in.
[[nodiscard]] std::optional<history_error> read_history(std::string_view text, std::vector<history_event>& out);

/// The same from an already parsed array of events (a history fetched
/// through the API).
[[nodiscard]] std::optional<history_error> read_events(const boost::json::value& events,
                                                       std::vector<history_event>& out);

/// The canonical spelling of an event type: EVENT_TYPE_X_Y and XY both give X_Y.
[[nodiscard]] std::string canonical_event_type(std::string_view spelling);

/// The first place a history and the graph disagree.
struct divergence final {
  std::int64_t event_id = 0;
  std::string expected;
  std::string found;
};

/// The tasks of a graph and what each runs after (task -> its dependencies).
using dependency_map = std::map<std::string, std::vector<std::string>>;

/// Checks the history on its own (ids in order, a start first, nothing after
/// the close, activity events that refer to scheduled ones, no activity
/// completed twice) and, given `graph`, against it: every scheduled activity
/// is a known task, scheduled only after all its dependencies completed, and
/// a completed workflow left no activity unfinished.
[[nodiscard]] std::optional<divergence> check_history(const std::vector<history_event>& events,
                                                      const dependency_map* graph);

}  // namespace cascadence::adapters::temporal

#pragma once

// The schedule commands with backend: temporal, where the schedules live in
// the cluster as Temporal Schedules (schedule id = task name).

#include "adapters/temporal/temporal_client.hpp"

#include <string>

namespace cascadence::scheduling {
struct schedule_entry;
}

namespace cascadence::cli {

class invocation;

/// A client call that failed: exit 1 with its message (the server down,
/// refusing, or answering nonsense), unlike a usage error.
class temporal_error final : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// `task schedule` on Temporal: creates or updates the schedule of `entry`.
int temporal_schedule(invocation& inv, const scheduling::schedule_entry& entry);
int temporal_unschedule(invocation& inv, const std::string& name);
int temporal_schedules(invocation& inv, bool json);
int temporal_pause(invocation& inv, const std::string& name, bool paused);

/// `task replay-history PATH | --workflow-id ID [--run-id R] [--task NAME] [--json]`:
/// prints a history's timeline and checks it against the graph of a task;
/// exit 0 consistent, 1 a divergence, 2 a history that cannot be read.
int run_replay_history(invocation& inv);

}  // namespace cascadence::cli

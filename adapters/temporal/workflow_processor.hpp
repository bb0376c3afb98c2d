#pragma once

// Tasks that run on Temporal: an engine processor that starts the task's
// workflow and waits for it to close, so a run on Temporal reports, times
// out, retries and cancels like a local one (docs/temporal.md).

#include "adapters/temporal/temporal_client.hpp"

#include <memory>
#include <string>

namespace cascadence::engine {
class processor;
}

namespace cascadence::adapters::temporal {

/// What the processor of one task starts.
struct workflow_target final {
  /// The Cascadence task, for workflow ids and messages.
  std::string task;
  std::string workflow_type;
  /// The workflow's execution timeout; zero: none.
  std::chrono::milliseconds execution_timeout{0};
};

/// A processor starting `target`'s workflow with the run input as its one
/// argument, workflow id `<task>-<run id>` (`-<attempt>` from the second
/// attempt), request id derived from it (a retried start does not start a
/// second workflow), and waiting for its close event. Success: the workflow's
/// result is the task's output, printed as one line. A cancelled run
/// sends RequestCancel and waits up to the attempt's kill_grace for the
/// workflow to close; the task's timeout is the workflow's execution
/// timeout, enforced by the cluster (service/temporal_tasks.cpp). The HTTP clients are kept
/// per execution context, like the remote plugin client's.
[[nodiscard]] std::shared_ptr<engine::processor> make_workflow_processor(settings s, workflow_target target);

/// The HTTP-API client for `s` on the context `ex` belongs to, made on first
/// use and destroyed with that context.
[[nodiscard]] client& client_on(const boost::asio::any_io_executor& ex, const settings& s);

}  // namespace cascadence::adapters::temporal

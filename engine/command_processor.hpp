#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace cascadence::engine {

class processor;

/// What the `command` processor runs.
struct command_spec final {
  /// The program and its arguments, run without a shell (PATH lookup).
  /// A YAML string becomes {"/bin/sh", "-c", string}.
  std::vector<std::string> argv;
  /// Added to (or overriding) the inherited environment.
  std::map<std::string, std::string> env;
  /// Working directory; empty means inherit.
  std::string cwd;
  /// Standard output kept as the task's output; the rest is streamed but
  /// dropped from the output value, and the output says so.
  std::size_t max_output_bytes = 16U << 20U;
};

/// `command`: runs the spec as a child process in its own process group.
/// Standard input receives the task's input JSON; standard output and error
/// stream to the observers line by line; standard output becomes the task's
/// output (JSON when it parses, else a string). A non-zero exit fails the
/// attempt. On timeout or cancellation the group gets SIGTERM, then SIGKILL
/// once the run's kill grace is over (at once if the child exits sooner);
/// the child is awaited and reaped on the loop without blocking it (a pidfd
/// on Linux 5.3+, else polled). The environment also carries CASCADENCE_TASK,
/// CASCADENCE_RUN_ID and CASCADENCE_ATTEMPT. When the run was started by an
/// event (run_options::event), standard input is the event payload (the run
/// input) alone, and the environment adds CASCADENCE_EVENT_SOURCE and
/// CASCADENCE_EVENT_TYPE.
[[nodiscard]] std::shared_ptr<processor> make_command_processor(command_spec spec);

}  // namespace cascadence::engine

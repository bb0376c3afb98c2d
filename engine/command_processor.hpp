#pragma once

#include <cstddef>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace cascadence::engine {

class processor;

/// What the `command` processor runs.
/// How much of a child's output is kept and shown, so a task that writes
/// without end (or without a newline) costs bounded memory; the task itself
/// is unaffected, its pipes are always read to the end.
struct output_limits final {
  /// A line longer than this is shown cut, with " [line truncated at N
  /// bytes]", and the rest of it up to its newline dropped.
  std::size_t line_bytes = 64U << 10U;
  /// Bytes of lines shown per stream and attempt; past it one line says
  /// "[output truncated after N bytes]" and the rest is not shown.
  std::size_t stream_bytes = 64U << 20U;
  /// Standard output kept as the task's output value; past it the value is
  /// the kept text as a string (never parsed as JSON).
  std::size_t keep_bytes = 16U << 20U;
};

struct command_spec final {
  /// The program and its arguments, run without a shell (PATH lookup).
  /// A YAML string becomes {"/bin/sh", "-c", string}.
  std::vector<std::string> argv;
  /// Added to (or overriding) the inherited environment.
  std::map<std::string, std::string> env;
  /// Working directory; empty means inherit.
  std::string cwd;
  output_limits limits{};
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

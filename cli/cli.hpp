#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace cascadence::cli {

/// Exit statuses of the `task` command.
inline constexpr int exit_ok = 0;
inline constexpr int exit_task_failed = 1;
inline constexpr int exit_usage = 2;

/// Runs the `task` command line on `args` (the words after the program
/// name) and returns the exit status instead of exiting. What the command
/// prints goes to `out`, errors, status lines and progress to `err`; a live
/// progress line is drawn only when `err` is the process's standard error
/// and that is a terminal.
[[nodiscard]] int main(std::vector<std::string> args, std::ostream& out, std::ostream& err);

/// The same on the process's standard output and error.
[[nodiscard]] int main(std::vector<std::string> args = {});

}  // namespace cascadence::cli

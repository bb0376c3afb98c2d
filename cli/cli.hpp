#pragma once

#include <string>
#include <vector>

namespace cascadence::cli {

/// Exit statuses of the `task` command.
inline constexpr int exit_ok = 0;
inline constexpr int exit_task_failed = 1;
inline constexpr int exit_usage = 2;

/// Runs the `task` command line on `args` (the words after the program
/// name) and returns the exit status instead of exiting. Writes to the
/// process's standard output and error.
[[nodiscard]] int main(std::vector<std::string> args = {});

}  // namespace cascadence::cli

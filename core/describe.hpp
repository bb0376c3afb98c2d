#pragma once

#include <exception>
#include <string>

namespace cascadence::core {

/// What an exception says, for a log line or a run's error: `what()` of a
/// std::exception, "aborted" for an Asio operation_aborted system_error (a
/// cancelled wait, not a failure of its own), "unknown exception" for
/// anything else. A null pointer gives "no exception".
[[nodiscard]] std::string describe(const std::exception_ptr& e);

/// describe() of the exception being handled; call it inside a catch block.
[[nodiscard]] std::string describe_current();

}  // namespace cascadence::core

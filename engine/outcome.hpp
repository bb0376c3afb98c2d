#pragma once

#include <boost/json/value.hpp>

#include <string>

namespace cascadence::engine {

/// What one attempt of a processor produced: success with an output value,
/// or failure with a message. Timeouts and cancellation are decided by the
/// engine, not reported by processors.
struct outcome final {
  bool ok = true;
  boost::json::value output;
  std::string error;

  /// Success with a null output (built in place: no json::value is moved).
  [[nodiscard]] static outcome success() noexcept { return outcome{}; }
  /// Success with `output`.
  [[nodiscard]] static outcome success(boost::json::value output) { return outcome{true, std::move(output), {}}; }
  [[nodiscard]] static outcome failure(std::string message) { return outcome{false, nullptr, std::move(message)}; }
};

}  // namespace cascadence::engine

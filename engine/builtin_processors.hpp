#pragma once

#include <boost/json/value.hpp>

#include <chrono>
#include <memory>

namespace cascadence::engine {

class processor;

/// `echo`: emits `message` as a line of output and returns it as the task's
/// output (a null message echoes the task's input instead).
[[nodiscard]] std::shared_ptr<processor> make_echo_processor(boost::json::value message);

/// `sleep`: waits `duration` on a timer (cancellable), then succeeds.
[[nodiscard]] std::shared_ptr<processor> make_sleep_processor(std::chrono::milliseconds duration);

/// An async processor that succeeds at once with a null output: the
/// benchmarks' "empty task".
[[nodiscard]] std::shared_ptr<processor> make_noop_processor();

}  // namespace cascadence::engine

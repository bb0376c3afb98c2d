#pragma once

#include <chrono>

namespace cascadence::bench {

/// Measures elapsed wall time on the steady clock from construction or the
/// last restart().
class stopwatch final {
 public:
  stopwatch() noexcept : start_(clock::now()) {}

  /// Starts measuring again from now.
  void restart() noexcept { start_ = clock::now(); }

  /// Seconds elapsed since construction or the last restart().
  [[nodiscard]] double seconds() const noexcept {
    return std::chrono::duration<double>(clock::now() - start_).count();
  }

 private:
  using clock = std::chrono::steady_clock;
  clock::time_point start_;
};

}  // namespace cascadence::bench

#pragma once

#include <time.h>

#include <chrono>

namespace cascadence::bench {

/// Measures elapsed wall time (steady clock) and the CPU time the process
/// used, from construction or the last restart(). On a machine shared with
/// other work the CPU time of a single-threaded run is the steadier figure.
class stopwatch final {
 public:
  stopwatch() noexcept { restart(); }

  /// Starts measuring again from now.
  void restart() noexcept {
    start_ = clock::now();
    cpu_start_ = cpu_now();
  }

  /// Wall seconds elapsed since construction or the last restart().
  [[nodiscard]] double seconds() const noexcept { return std::chrono::duration<double>(clock::now() - start_).count(); }

  /// CPU seconds the process (all its threads) used since then.
  [[nodiscard]] double cpu_seconds() const noexcept { return cpu_now() - cpu_start_; }

 private:
  using clock = std::chrono::steady_clock;

  static double cpu_now() noexcept {
    timespec ts{};
    ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
  }

  clock::time_point start_;
  double cpu_start_ = 0;
};

}  // namespace cascadence::bench

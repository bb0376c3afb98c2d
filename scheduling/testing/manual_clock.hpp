#pragma once

// For tests only (library cascadence::scheduling_testing): a clock that
// stands still until the test moves it.

#include "scheduling/clock.hpp"

#include <cstddef>
#include <optional>
#include <vector>

namespace cascadence::scheduling::testing {

/// A scheduling::clock whose time moves only when the test sets it. Its
/// timers complete (posted to their executors, as Asio's do) when the time
/// set reaches their expiry; nothing waits for real time. One thread.
class manual_clock final : public clock {
 public:
  explicit manual_clock(time_point start) noexcept : now_(start) {}
  /// Every timer it made must be gone by then.
  ~manual_clock() override;
  manual_clock(const manual_clock&) = delete;
  manual_clock& operator=(const manual_clock&) = delete;

  [[nodiscard]] time_point now() const noexcept override { return now_; }
  [[nodiscard]] std::unique_ptr<clock_timer> make_timer(const boost::asio::any_io_executor& ex) override;

  /// Sets the time to `t` (a jump, in either direction: downtime, a stalled
  /// loop, a wall clock step) and completes every timer whose expiry is at
  /// or before it. Their handlers run when the executor next runs.
  void set(time_point t);

  /// The earliest expiry of a pending wait, if any.
  [[nodiscard]] std::optional<time_point> next_expiry() const noexcept;

  /// Pending waits.
  [[nodiscard]] std::size_t waiting() const noexcept;

 private:
  class timer;
  friend class timer;
  void complete_due();

  time_point now_;
  std::vector<timer*> timers_;
};

}  // namespace cascadence::scheduling::testing

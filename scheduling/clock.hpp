#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/system/error_code.hpp>

#include <chrono>
#include <functional>
#include <memory>

namespace cascadence::scheduling {

/// A timer of a scheduling::clock: waits for one instant of that clock (or
/// one elapsed duration) at a time, on the executor it was made for.
class clock_timer {
 public:
  using time_point = std::chrono::system_clock::time_point;
  using duration = std::chrono::system_clock::duration;
  // Not asio::any_completion_handler: in Boost 1.81 handing one to an Asio
  // timer recurses without end (it wraps itself again at each layer).
  using wait_handler = std::function<void(boost::system::error_code)>;

  /// Destroying the timer aborts its pending wait.
  virtual ~clock_timer() = default;

  /// Completes `handler` on the timer's executor once the clock has reached
  /// `at` (soon for an instant already passed; never inside this call), or
  /// with operation_aborted when cancelled, destroyed or given another wait:
  /// a new wait aborts the pending one.
  virtual void async_wait_until(time_point at, wait_handler handler) = 0;

  /// The same, once `d` has elapsed. The production clock measures it on the
  /// steady clock, so a step of the wall clock neither stretches nor cuts it.
  virtual void async_wait_for(duration d, wait_handler handler) = 0;

  /// Aborts the pending wait, if any.
  virtual void cancel() noexcept = 0;
};

/// The time a scheduler reads and waits for: the wall clock in production
/// (system_clock()), a clock the test moves in unit tests
/// (scheduling/testing/manual_clock.hpp). Used on one thread, the
/// scheduler's.
class clock {
 public:
  using time_point = clock_timer::time_point;

  virtual ~clock() = default;

  /// The current time.
  [[nodiscard]] virtual time_point now() const noexcept = 0;

  /// A timer of this clock on `ex`; the clock must outlive it.
  [[nodiscard]] virtual std::unique_ptr<clock_timer> make_timer(const boost::asio::any_io_executor& ex) = 0;
};

/// The production clock: std::chrono::system_clock and Asio's timers. One
/// instance, stateless, valid for the life of the process.
[[nodiscard]] clock& system_clock() noexcept;

}  // namespace cascadence::scheduling

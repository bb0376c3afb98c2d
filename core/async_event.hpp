#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <vector>

namespace cascadence::core {

/// A flag coroutines can wait for: wait() suspends until set() is called
/// (or returns at once when it already was). Replaces the hand-written "timer
/// set to max, cancelled to wake the waiters". Not thread-safe: use it from
/// its executor's thread only.
class async_event final {
 public:
  explicit async_event(boost::asio::any_io_executor ex) : ex_(std::move(ex)) {}
  async_event(const async_event&) = delete;
  async_event& operator=(const async_event&) = delete;
  ~async_event() = default;

  /// Sets the flag and wakes every waiter (they resume later, never inside
  /// this call).
  void set();
  /// Clears the flag; waiters already woken are not affected.
  void reset() noexcept { set_ = false; }
  [[nodiscard]] bool is_set() const noexcept { return set_; }

  /// Waits until the flag is set. Returns true when set() woke it (even if
  /// reset() came before it resumed), false when the awaiting coroutine's
  /// wait was cancelled first.
  [[nodiscard]] boost::asio::awaitable<bool> wait();
  /// Waits until the flag is set or `deadline` passes; true when it is set.
  [[nodiscard]] boost::asio::awaitable<bool> wait_until(std::chrono::steady_clock::time_point deadline);

  /// How many coroutines are waiting now.
  [[nodiscard]] std::size_t waiters() const noexcept { return waiters_.size(); }

 private:
  struct waiter;  // one suspended wait (its timer), in async_event.cpp
  boost::asio::any_io_executor ex_;
  bool set_ = false;
  std::vector<waiter*> waiters_;
};

/// Counts work in flight and lets a coroutine wait until none is left
/// (drains at shutdown). Not thread-safe: use it from its executor's thread.
class wait_group final {
 public:
  explicit wait_group(boost::asio::any_io_executor ex) : idle_(std::move(ex)) { idle_.set(); }

  /// One unit of work: counted from construction until destruction.
  class token final {
   public:
    explicit token(wait_group& g) noexcept : g_(&g) { g.add(); }
    token(token&& other) noexcept : g_(std::exchange(other.g_, nullptr)) {}
    token& operator=(token&&) = delete;
    token(const token&) = delete;
    token& operator=(const token&) = delete;
    ~token() {
      if (g_ != nullptr) g_->done();
    }

   private:
    wait_group* g_;
  };

  void add() noexcept {
    if (count_++ == 0) idle_.reset();
  }
  /// Ends one unit; the last one wakes the waiters.
  void done() {
    if (--count_ == 0) idle_.set();
  }
  [[nodiscard]] std::size_t count() const noexcept { return count_; }

  /// Waits until the count is zero or `deadline` passes; true when it is zero.
  [[nodiscard]] boost::asio::awaitable<bool> wait_until(std::chrono::steady_clock::time_point deadline) {
    return idle_.wait_until(deadline);
  }
  /// Waits until the count is zero; false when the wait was cancelled.
  [[nodiscard]] boost::asio::awaitable<bool> wait() { return idle_.wait(); }

 private:
  std::size_t count_ = 0;
  async_event idle_;
};

}  // namespace cascadence::core

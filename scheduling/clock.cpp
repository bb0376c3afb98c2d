#include "scheduling/clock.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/system_timer.hpp>

namespace cascadence::scheduling {

namespace asio = boost::asio;

namespace {

class asio_timer final : public clock_timer {
 public:
  explicit asio_timer(const asio::any_io_executor& ex) : wall_(ex), elapsed_(ex) {}

  void async_wait_until(time_point at, wait_handler handler) override {
    // Only when it was used: a cancel takes the reactor's lock, and the
    // scheduler re-arms this timer on every wake.
    if (elapsed_armed_) cancel_elapsed();
    wall_.expires_at(at);  // aborts a pending wait for another time
    wall_.async_wait(std::move(handler));
  }

  void async_wait_for(duration d, wait_handler handler) override {
    wall_.cancel();
    elapsed_armed_ = true;
    elapsed_.expires_after(d);
    elapsed_.async_wait(std::move(handler));
  }

  void cancel() noexcept override {
    wall_.cancel();
    if (elapsed_armed_) cancel_elapsed();
  }

 private:
  void cancel_elapsed() noexcept {
    elapsed_armed_ = false;
    elapsed_.cancel();
  }

  asio::system_timer wall_;
  asio::steady_timer elapsed_;
  bool elapsed_armed_ = false;
};

class wall_clock final : public clock {
 public:
  [[nodiscard]] time_point now() const noexcept override { return std::chrono::system_clock::now(); }
  [[nodiscard]] std::unique_ptr<clock_timer> make_timer(const asio::any_io_executor& ex) override {
    return std::make_unique<asio_timer>(ex);
  }
};

}  // namespace

clock& system_clock() noexcept {
  static wall_clock instance;
  return instance;
}

}  // namespace cascadence::scheduling

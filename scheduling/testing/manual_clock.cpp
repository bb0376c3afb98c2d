#include "scheduling/testing/manual_clock.hpp"

#include <boost/asio/error.hpp>
#include <boost/asio/post.hpp>

#include <algorithm>
#include <cassert>
#include <utility>

namespace cascadence::scheduling::testing {

namespace asio = boost::asio;

class manual_clock::timer final : public clock_timer {
 public:
  timer(manual_clock& owner, asio::any_io_executor ex) : owner_(owner), ex_(std::move(ex)) {
    owner_.timers_.push_back(this);
  }
  ~timer() override {
    cancel();
    std::erase(owner_.timers_, this);
  }
  timer(const timer&) = delete;
  timer& operator=(const timer&) = delete;

  void async_wait_until(time_point at, wait_handler handler) override {
    cancel();
    expiry_ = at;
    handler_ = std::move(handler);
    if (at <= owner_.now_) complete({});
  }

  void async_wait_for(duration d, wait_handler handler) override {
    async_wait_until(owner_.now_ + d, std::move(handler));
  }

  void cancel() noexcept override {
    if (handler_) complete(asio::error::operation_aborted);
  }

  [[nodiscard]] bool pending() const noexcept { return static_cast<bool>(handler_); }
  [[nodiscard]] time_point expiry() const noexcept { return expiry_; }

  // Never inline: the handler runs from the executor, as Asio's timers do.
  void complete(boost::system::error_code ec) noexcept {
    asio::post(ex_, [h = std::move(handler_), ec] { h(ec); });
    handler_ = nullptr;
  }

 private:
  manual_clock& owner_;
  asio::any_io_executor ex_;
  time_point expiry_{};
  wait_handler handler_;
};

manual_clock::~manual_clock() {
  assert(timers_.empty() && "a timer outlives its manual_clock");
}

std::unique_ptr<clock_timer> manual_clock::make_timer(const asio::any_io_executor& ex) {
  return std::make_unique<timer>(*this, ex);
}

void manual_clock::set(time_point t) {
  now_ = t;
  complete_due();
}

void manual_clock::complete_due() {
  // A copy: completing posts only, but keep the walk independent of timers_.
  const auto timers = timers_;
  for (auto* t : timers) {
    if (t->pending() && t->expiry() <= now_) t->complete({});
  }
}

std::optional<manual_clock::time_point> manual_clock::next_expiry() const noexcept {
  std::optional<time_point> out;
  for (const auto* t : timers_) {
    if (t->pending() && (!out || t->expiry() < *out)) out = t->expiry();
  }
  return out;
}

std::size_t manual_clock::waiting() const noexcept {
  return static_cast<std::size_t>(
      std::count_if(timers_.begin(), timers_.end(), [](const timer* t) { return t->pending(); }));
}

}  // namespace cascadence::scheduling::testing

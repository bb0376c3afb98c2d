#include "net/detail/io_deadline.hpp"

#include <boost/asio/error.hpp>

namespace cascadence::net::detail {

// Shared with the pending timer handler, which may run after the
// io_deadline is gone (it then sees no socket and returns).
struct io_deadline::state final {
  explicit state(boost::asio::ip::tcp::socket& s) : socket(&s), timer(s.get_executor()) {}

  boost::asio::ip::tcp::socket* socket;
  boost::asio::steady_timer timer;
  clock::time_point at = clock::time_point::max();
  /// What the pending wait, if any, was armed for.
  clock::time_point armed_for = clock::time_point::max();
  bool armed = false;
  bool expired = false;
};

void io_deadline::on_timer(const std::shared_ptr<state>& s, const boost::system::error_code& ec) {
  // Aborted: re-armed (a newer wait is pending) or stopped.
  if (ec == boost::asio::error::operation_aborted || s->socket == nullptr) return;
  s->armed = false;
  if (s->at == clock::time_point::max()) return;  // no deadline now
  if (clock::now() < s->at) {
    arm(s);  // the deadline moved later since this wait began
    return;
  }
  s->expired = true;
  boost::system::error_code ignored;
  s->socket->close(ignored);
}

void io_deadline::arm(const std::shared_ptr<state>& s) {
  s->armed = true;
  s->armed_for = s->at;
  s->timer.expires_at(s->at);  // cancels a pending wait
  s->timer.async_wait([s](const boost::system::error_code& ec) { on_timer(s, ec); });
}

io_deadline::io_deadline(boost::asio::ip::tcp::socket& socket) : state_(std::make_shared<state>(socket)) {}

io_deadline::~io_deadline() {
  state_->socket = nullptr;
  state_->timer.cancel();
}

void io_deadline::expires_after(clock::duration d) {
  auto& s = *state_;
  s.at = clock::now() + d;
  // Only a deadline earlier than the pending wait needs the timer touched.
  if (!s.armed || s.at < s.armed_for) arm(state_);
}

void io_deadline::expires_never() noexcept {
  state_->at = clock::time_point::max();
}

bool io_deadline::expired() const noexcept {
  return state_->expired;
}

}  // namespace cascadence::net::detail

#pragma once

// The deadline of a connection's I/O, set several times per request at the
// cost of a clock read. Beast's tcp_stream arms and cancels a timer around
// every read and write, and each cancellation completes a handler through
// the executor; here one timer per connection sleeps until the earliest
// time the deadline could have passed and looks again. Only net's own .cpp
// files include this.

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <memory>

namespace cascadence::net::detail {

/// Closes a socket when its deadline passes. The deadline applies to
/// whatever the socket is doing then, so set it before each operation,
/// and use expires_never() while no I/O is due (a handler running).
class io_deadline final {
 public:
  using clock = std::chrono::steady_clock;

  /// Watches `socket`, which must outlive this object. No deadline yet.
  explicit io_deadline(boost::asio::ip::tcp::socket& socket);
  /// Stops watching; the socket may go away afterwards.
  ~io_deadline();
  io_deadline(const io_deadline&) = delete;
  io_deadline& operator=(const io_deadline&) = delete;

  /// The socket's operations must end within `d` from now; past that it is
  /// closed (pending operations fail) and expired() turns true.
  void expires_after(clock::duration d);
  /// No deadline until the next expires_after().
  void expires_never() noexcept;
  /// True once a deadline passed and the socket was closed for it.
  [[nodiscard]] bool expired() const noexcept;

 private:
  struct state;
  static void arm(const std::shared_ptr<state>& s);
  static void on_timer(const std::shared_ptr<state>& s, const boost::system::error_code& ec);

  std::shared_ptr<state> state_;
};

}  // namespace cascadence::net::detail

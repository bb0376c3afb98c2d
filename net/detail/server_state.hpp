#pragma once

// The state an http_server shares with its accept loop and sessions. Only
// net's own .cpp files include this. Everything runs on one executor, so
// nothing here is synchronised.

#include "core/async_event.hpp"
#include "net/http_server.hpp"

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/intrusive/list.hpp>

#include <list>
#include <memory>
#include <unordered_map>

namespace cascadence::net::detail {

/// A live connection as the shutdown protocol sees it. It lives in its
/// session's coroutine frame and is linked into server_state::sessions for
/// exactly the session's lifetime (see session_registration).
struct session_entry final {
  /// Waiting for the first byte of a request, or in the TLS handshake:
  /// nothing would be lost by closing now.
  bool idle = false;
  /// Set by force_close(); the session must end without writing anything.
  bool force_closed = false;
  /// Set when the session was closed to make room for a new connection.
  bool shed = false;
  /// While linked into server_state::waiting: what the session waits for.
  shed_reason waiting_for = shed_reason::idle;
  /// Links the session into server_state::waiting while it waits for a
  /// request or the rest of its head.
  boost::intrusive::list_member_hook<> waiting_hook;
  /// The timer bounding the handler in flight, if any; cancelling it makes
  /// the handler lose its race and be cancelled.
  boost::asio::steady_timer* handler_deadline = nullptr;
  /// Closes the session's socket (the stream type is erased).
  void* stream = nullptr;
  void (*close_stream)(void* stream) noexcept = nullptr;
  std::list<session_entry*>::iterator position;

  void close() const noexcept {
    if (close_stream != nullptr) close_stream(stream);
  }
  void force_close() noexcept {
    force_closed = true;
    if (handler_deadline != nullptr) handler_deadline->cancel();
    close();
  }
};

/// Sessions waiting for a request or the rest of its head, in the order
/// they began waiting: the front has waited longest.
using waiting_list = boost::intrusive::list<
    session_entry,
    boost::intrusive::member_hook<session_entry, boost::intrusive::list_member_hook<>, &session_entry::waiting_hook>,
    boost::intrusive::constant_time_size<true>>;

struct server_state final {
  server_state(boost::asio::any_io_executor executor, router r, server_options o, boost::asio::ssl::context* t);

  boost::asio::any_io_executor ex;
  router routes;
  server_options options;
  boost::asio::ssl::context* tls;
  server_observer* observer;
  boost::asio::ip::tcp::acceptor acceptor;
  boost::asio::steady_timer backoff_timer;
  boost::asio::steady_timer grace_timer;
  /// Set once the shutdown is complete; wait_stopped() callers wait for it.
  core::async_event stopped_event;
  std::list<session_entry*> sessions;
  waiting_list waiting;
  /// Connections admitted and neither ended nor shed: what max_connections
  /// bounds. A shed session still runs for a moment, but its socket is
  /// closed already.
  std::size_t connections_open = 0;
  /// Connections admitted and not ended, by client_key().
  std::unordered_map<boost::asio::ip::address, std::size_t> per_client;
  server_stats stats;
  std::uint16_t port = 0;
  bool started = false;
  bool stopping = false;
  bool accept_loop_running = false;
  bool stopped = false;

  /// Counts a written response and tells the observer.
  void count_response(const response_event& event);
  /// Counts a limit hit and tells the observer.
  void hit(limit_kind kind);
  /// Tells the observer about an unexpected error.
  void report_error(std::string_view what);
  /// Closes every remaining session, cancelling their handlers.
  void force_close_all();
  /// The session waits for `reason` now (keeping its place in line if it
  /// waited already). A shed session stays out of line.
  void mark_waiting(session_entry& entry, shed_reason reason) noexcept;
  /// The session no longer waits (its request head is complete).
  void unmark_waiting(session_entry& entry) noexcept;
  /// Closes the session that has waited longest, to make room for a new
  /// connection; false when none waits.
  bool shed_oldest();
  /// Completes the shutdown once nothing runs any more.
  void check_stopped();
};

/// Links a session_entry into the state for the lifetime of this object,
/// and ends the connection's share of connections_open and of its client's
/// count (both counted when the accept loop admitted it) with it.
class session_registration final {
 public:
  session_registration(server_state& state, session_entry& entry, boost::asio::ip::address client);
  ~session_registration();
  session_registration(const session_registration&) = delete;
  session_registration& operator=(const session_registration&) = delete;

 private:
  server_state& state_;
  session_entry& entry_;
  boost::asio::ip::address client_;
};

/// Serves one accepted connection until it ends (TLS handshake first when
/// the state has a TLS context). Expected endings are values; anything
/// thrown is unexpected and left to the spawner.
/// `client` is the connection's client_key(), counted in per_client.
[[nodiscard]] boost::asio::awaitable<void> serve_connection(std::shared_ptr<server_state> state,
                                                            boost::asio::ip::tcp::socket socket,
                                                            boost::asio::ip::address client);

}  // namespace cascadence::net::detail

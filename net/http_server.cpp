#include "net/http_server.hpp"

#include "core/describe.hpp"
#include "core/text.hpp"
#include "net/detail/client_key.hpp"
#include "net/detail/server_state.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <exception>
#include <iostream>
#include <string>

namespace cascadence::net {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

void status_counts::count(unsigned status) noexcept {
  switch (status_class(status)) {
    case 1:
      ++informational;
      break;
    case 2:
      ++success;
      break;
    case 3:
      ++redirection;
      break;
    case 4:
      ++client_error;
      break;
    case 5:
      ++server_error;
      break;
    default:
      break;
  }
}

std::string_view to_string(limit_kind kind) noexcept {
  switch (kind) {
    case limit_kind::header_size:
      return "header_size";
    case limit_kind::body_size:
      return "body_size";
    case limit_kind::read_timeout:
      return "read_timeout";
    case limit_kind::handler_timeout:
      return "handler_timeout";
    case limit_kind::connections:
      return "connections";
    case limit_kind::requests_per_connection:
      return "requests_per_connection";
    case limit_kind::connections_per_client:
      return "connections_per_client";
  }
  return "unknown";
}

std::string_view to_string(shed_reason reason) noexcept {
  switch (reason) {
    case shed_reason::idle:
      return "idle";
    case shed_reason::incomplete_request:
      return "incomplete_request";
  }
  return "unknown";
}

void shed_counts::count(shed_reason reason) noexcept {
  switch (reason) {
    case shed_reason::idle:
      ++idle;
      break;
    case shed_reason::incomplete_request:
      ++incomplete_request;
      break;
  }
}

void limit_counts::count(limit_kind kind) noexcept {
  switch (kind) {
    case limit_kind::header_size:
      ++header_size;
      break;
    case limit_kind::body_size:
      ++body_size;
      break;
    case limit_kind::read_timeout:
      ++read_timeout;
      break;
    case limit_kind::handler_timeout:
      ++handler_timeout;
      break;
    case limit_kind::connections:
      ++connections;
      break;
    case limit_kind::requests_per_connection:
      ++requests_per_connection;
      break;
    case limit_kind::connections_per_client:
      ++connections_per_client;
      break;
  }
}

void server_observer::on_error(std::string_view what) {
  std::clog << "cascadence.net: " << core::printable(what) << '\n';
}

namespace detail {

namespace {

server_observer& fallback_observer() {
  static server_observer instance;
  return instance;
}

std::string format_ms(std::chrono::milliseconds d) {
  return std::to_string(d.count()) + "ms";
}

}  // namespace

server_state::server_state(asio::any_io_executor executor, router r, server_options o, asio::ssl::context* t)
    : ex(std::move(executor)),
      routes(std::move(r)),
      options(std::move(o)),
      tls(t),
      observer(options.observer != nullptr ? options.observer : &fallback_observer()),
      acceptor(ex),
      backoff_timer(ex),
      grace_timer(ex),
      stopped_event(ex) {
  for (const auto& info : routes.routes()) stats.routes.push_back(route_stats{info, {}});
}

void server_state::count_response(const response_event& event) {
  stats.responses.count(event.status);
  if (event.route != nullptr) {
    const auto index = static_cast<std::size_t>(event.route - routes.routes().data());
    if (index < stats.routes.size()) stats.routes[index].responses.count(event.status);
  }
  observer->on_response(event);
}

void server_state::hit(limit_kind kind) {
  stats.limits.count(kind);
  observer->on_limit(kind);
}

void server_state::report_error(std::string_view what) {
  observer->on_error(what);
}

void server_state::force_close_all() {
  // Copy: closing never resumes a session synchronously, but stay safe.
  const std::vector<session_entry*> live(sessions.begin(), sessions.end());
  for (auto* entry : live) {
    if (entry->force_closed) continue;
    ++stats.forced_closes;
    entry->force_close();
  }
}

void server_state::mark_waiting(session_entry& entry, shed_reason reason) noexcept {
  if (entry.shed) return;
  entry.waiting_for = reason;
  if (!entry.waiting_hook.is_linked()) waiting.push_back(entry);
}

void server_state::unmark_waiting(session_entry& entry) noexcept {
  if (entry.waiting_hook.is_linked()) waiting.erase(waiting.iterator_to(entry));
}

bool server_state::shed_oldest() {
  if (waiting.empty()) return false;
  auto& entry = waiting.front();
  waiting.pop_front();
  entry.shed = true;
  --connections_open;
  stats.connections_shed.count(entry.waiting_for);
  observer->on_shed(entry.waiting_for);
  // Its pending read or handshake fails and the session ends; nothing it
  // had begun is lost, as it had no complete request head.
  entry.close();
  return true;
}

void server_state::check_stopped() {
  if (!stopping || stopped || accept_loop_running || stats.connections_active != 0) return;
  stopped = true;
  grace_timer.cancel();
  stopped_event.set();
}

session_registration::session_registration(server_state& state, session_entry& entry, asio::ip::address client)
    : state_(state), entry_(entry), client_(client) {
  entry_.position = state_.sessions.insert(state_.sessions.end(), &entry_);
}

session_registration::~session_registration() {
  state_.sessions.erase(entry_.position);
  state_.unmark_waiting(entry_);
  if (!entry_.shed) --state_.connections_open;  // a shed one gave its place up already
  const auto it = state_.per_client.find(client_);
  if (it != state_.per_client.end() && --it->second == 0) state_.per_client.erase(it);
}

namespace {

asio::awaitable<void> accept_loop(std::shared_ptr<server_state> st) {
  constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
  auto backoff = st->options.accept_backoff;
  for (;;) {
    auto [ec, socket] = co_await st->acceptor.async_accept(use_tuple);
    if (st->stopping) co_return;  // the acceptor was closed by stop()
    if (ec) {
      // EMFILE, ENOBUFS, ...: retrying at once would spin; wait, doubling.
      ++st->stats.accept_errors;
      st->report_error("accept failed (" + ec.message() + "); retrying in " + format_ms(backoff));
      st->backoff_timer.expires_after(backoff);
      auto [wait_ec] = co_await st->backoff_timer.async_wait(use_tuple);
      if (st->stopping) co_return;
      (void)wait_ec;  // only stop() cancels this timer, handled above
      backoff = std::min(backoff * 2, st->options.accept_backoff_max);
      continue;
    }
    backoff = st->options.accept_backoff;
    // A peer already gone has no address; the session ends at its first read.
    boost::system::error_code endpoint_ec;
    const auto client = client_key(socket.remote_endpoint(endpoint_ec).address());
    // One client may not take every place: past its own limit it is refused
    // before anyone else's connection would be shed for it.
    const auto per_client = st->options.max_connections_per_client;
    if (per_client != 0) {
      const auto it = st->per_client.find(client);
      if (it != st->per_client.end() && it->second >= per_client) {
        st->hit(limit_kind::connections_per_client);
        boost::system::error_code ignored;
        socket.close(ignored);
        continue;
      }
    }
    // Full: the connection that has waited longest for a request makes room
    // (slow clients that never finish a request head cannot keep a new
    // client out); refused only when every connection is busy with one.
    if (st->connections_open >= st->options.max_connections && !st->shed_oldest()) {
      st->hit(limit_kind::connections);
      boost::system::error_code ignored;
      socket.close(ignored);
      continue;
    }
    ++st->stats.connections_accepted;
    ++st->stats.connections_active;
    ++st->connections_open;
    ++st->per_client[client];
    asio::co_spawn(st->ex, serve_connection(st, std::move(socket), client), [st](std::exception_ptr e) {
      if (e) {
        ++st->stats.session_errors;
        st->report_error("session ended unexpectedly: " + core::describe(e));
      }
      --st->stats.connections_active;
      st->check_stopped();
    });
  }
}

asio::awaitable<void> wait_until_stopped(std::shared_ptr<server_state> st) {
  // A cancelled wait returns early, as the timer this replaced did.
  (void)co_await st->stopped_event.wait();
}

tcp::endpoint bind_endpoint(const server_options& o, asio::any_io_executor ex, boost::system::error_code& ec) {
  auto address = asio::ip::make_address(o.host, ec);
  if (!ec) return {address, o.port};
  // A name: resolve it once, synchronously, as part of starting up.
  tcp::resolver resolver(ex);
  auto results = resolver.resolve(o.host, std::to_string(o.port), tcp::resolver::passive, ec);
  if (ec) return {};
  if (results.empty()) {
    ec = asio::error::host_not_found;
    return {};
  }
  return results.begin()->endpoint();
}

}  // namespace
}  // namespace detail

http_server::http_server(asio::any_io_executor ex, router routes, server_options options)
    : state_(std::make_shared<detail::server_state>(std::move(ex), std::move(routes), std::move(options), nullptr)) {}

http_server::http_server(asio::any_io_executor ex, router routes, server_options options, asio::ssl::context& tls)
    : state_(std::make_shared<detail::server_state>(std::move(ex), std::move(routes), std::move(options), &tls)) {}

http_server::~http_server() {
  stop(std::chrono::milliseconds(0));
  state_->force_close_all();
}

boost::system::error_code http_server::start() {
  auto& st = *state_;
  if (st.started || st.stopping) return asio::error::already_started;
  boost::system::error_code ec;
  const auto endpoint = detail::bind_endpoint(st.options, st.ex, ec);
  if (ec) return ec;
  st.acceptor.open(endpoint.protocol(), ec);
  if (!ec) st.acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) st.acceptor.bind(endpoint, ec);
  if (!ec) st.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    boost::system::error_code ignored;
    st.acceptor.close(ignored);
    return ec;
  }
  auto bound = st.acceptor.local_endpoint(ec);
  if (ec) return ec;
  st.port = bound.port();
  st.started = true;
  st.accept_loop_running = true;
  asio::co_spawn(st.ex, detail::accept_loop(state_), [state = state_](std::exception_ptr e) {
    if (e) state->report_error("accept loop ended unexpectedly: " + core::describe(e));
    state->accept_loop_running = false;
    state->check_stopped();
  });
  return {};
}

std::uint16_t http_server::port() const noexcept {
  return state_->port;
}

void http_server::stop(std::chrono::milliseconds grace) {
  auto& st = *state_;
  if (st.stopping) return;
  st.stopping = true;
  boost::system::error_code ignored;
  st.acceptor.close(ignored);
  st.backoff_timer.cancel();
  // Idle keep-alive connections lose nothing by closing now; the others
  // finish their request and close after answering (see the session).
  for (auto* entry : std::vector<detail::session_entry*>(st.sessions.begin(), st.sessions.end())) {
    if (entry->idle) entry->close();
  }
  st.grace_timer.expires_after(grace);
  st.grace_timer.async_wait([state = state_](boost::system::error_code ec) {
    if (!ec) state->force_close_all();
  });
  st.check_stopped();
}

asio::awaitable<void> http_server::wait_stopped() const {
  return detail::wait_until_stopped(state_);
}

server_stats http_server::stats() const {
  auto out = state_->stats;
  for (const auto& entry : state_->waiting) out.connections_waiting.count(entry.waiting_for);
  return out;
}

}  // namespace cascadence::net

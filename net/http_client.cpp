#include "net/http_client.hpp"

#include "net/detail/beast_message.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <algorithm>
#include <map>
#include <stdexcept>
#include <variant>
#include <vector>

namespace cascadence::net {

namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using error_code = boost::system::error_code;
using steady = std::chrono::steady_clock;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

using plain_stream = beast::tcp_stream;
using tls_stream = beast::ssl_stream<beast::tcp_stream>;

// Where a URL sends us.
struct endpoint_url final {
  bool tls = false;
  std::string host;  // without brackets, for resolving, SNI and verification
  std::uint16_t port = 0;
  bool ip_literal = false;
  std::string host_header;  // host[:port] as written in the URL
  std::string target;       // path and query, percent-encoded
  std::string pool_key;     // scheme://host:port
};

client_error make_error(client_errc code, std::string message) {
  return client_error{code, std::move(message), 0, 0};
}

result<endpoint_url, client_error> parse_url(std::string_view text) {
  auto parsed = boost::urls::parse_uri(text);
  if (!parsed)
    return make_error(client_errc::invalid_url,
                      "invalid URL '" + std::string(text) + "' (" + parsed.error().message() + ")");
  const boost::urls::url_view u = *parsed;
  endpoint_url out;
  if (u.scheme_id() == boost::urls::scheme::https) {
    out.tls = true;
  } else if (u.scheme_id() != boost::urls::scheme::http) {
    return make_error(client_errc::unsupported_scheme,
                      "unsupported scheme '" + std::string(u.scheme()) + "' in '" + std::string(text) + "'");
  }
  if (u.has_userinfo()) {
    return make_error(client_errc::invalid_url, "credentials in URLs are not supported: '" + std::string(text) + "'");
  }
  switch (u.host_type()) {
    case boost::urls::host_type::name:
      break;
    case boost::urls::host_type::ipv4:
    case boost::urls::host_type::ipv6:
      out.ip_literal = true;
      break;
    default:
      return make_error(client_errc::invalid_url, "URL without a usable host: '" + std::string(text) + "'");
  }
  out.host = u.host_address();
  if (out.host.empty()) return make_error(client_errc::invalid_url, "URL without a host: '" + std::string(text) + "'");
  out.port = out.tls ? 443 : 80;
  if (u.has_port() && !u.port().empty()) {
    if (u.port_number() == 0) return make_error(client_errc::invalid_url, "bad port in '" + std::string(text) + "'");
    out.port = u.port_number();
  }
  out.host_header = std::string(u.encoded_host_and_port());
  out.target = u.encoded_path().empty() ? std::string("/") : std::string(u.encoded_path());
  if (u.has_query()) out.target += "?" + std::string(u.encoded_query());
  out.pool_key = (out.tls ? "https://" : "http://") + out.host + ":" + std::to_string(out.port);
  return out;
}

// One keep-alive connection: the stream and whatever the last response
// left in its buffer (nothing, or the connection is not pooled).
struct connection final {
  explicit connection(plain_stream s) : stream(std::in_place_index<0>, std::move(s)) {}
  connection(plain_stream s, asio::ssl::context& ctx) : stream(std::in_place_index<1>, std::move(s), ctx) {}

  std::variant<plain_stream, tls_stream> stream;
  beast::flat_buffer buffer;
  steady::time_point idle_since{};

  tcp::socket& socket() {
    return std::visit([](auto& s) -> tcp::socket& { return beast::get_lowest_layer(s).socket(); }, stream);
  }
};

// True when an idle pooled socket is still open and has nothing to read: a
// readable idle socket means the server closed it (EOF) or sent something
// unrequested (a TLS alert); either way it is not reusable.
bool still_usable(tcp::socket& socket) {
  if (!socket.is_open()) return false;
  error_code ec;
  socket.non_blocking(true, ec);
  if (ec) return false;
  char byte = 0;
  (void)socket.receive(asio::buffer(&byte, 1), tcp::socket::message_peek, ec);
  error_code restore_ec;
  socket.non_blocking(false, restore_ec);
  return ec == asio::error::would_block && !restore_ec;
}

// A failed attempt, and whether another attempt may help.
struct attempt_error final {
  client_error error;
  bool retryable = false;
  // A pooled connection that turned out closed before anything came back:
  // retried at once on a fresh connection, without counting an attempt.
  bool stale = false;
};

attempt_error classify_exchange_error(const error_code& ec, bool received_nothing, const endpoint_url& url) {
  const auto where = " (" + url.host_header + ": " + ec.message() + ")";
  if (ec == beast::error::timeout) return {make_error(client_errc::timeout, "no response in time" + where), false};
  if (ec == asio::error::operation_aborted)
    return {make_error(client_errc::cancelled, "request cancelled" + where), false};
  if (ec == http::error::header_limit || ec == http::error::body_limit || ec == http::error::buffer_overflow) {
    return {make_error(client_errc::response_too_large, "response too large" + where), false};
  }
  const bool closed = ec == http::error::end_of_stream || ec == http::error::partial_message ||
                      ec == asio::error::eof || ec == asio::error::connection_reset || ec == asio::error::broken_pipe ||
                      ec == asio::ssl::error::stream_truncated;
  if (!closed && ec.category() == http::make_error_code(http::error::bad_status).category()) {
    return {make_error(client_errc::protocol_error, "invalid HTTP response" + where), false};
  }
  return {make_error(client_errc::connection_closed, "connection closed before a response" + where), true,
          received_nothing};
}

struct exchange_result final {
  std::optional<client_response> response;
  attempt_error failure;
  bool reusable = false;
};

// Writes the request and reads the response on an open connection, all
// within request_timeout.
template <typename Stream>
asio::awaitable<exchange_result> exchange(Stream& stream, beast::flat_buffer& buffer,
                                          const http::request<http::string_body>& msg, const client_options& o,
                                          const endpoint_url& url) {
  auto& tcp_layer = beast::get_lowest_layer(stream);
  tcp_layer.expires_after(o.request_timeout);
  auto [write_ec, written] = co_await http::async_write(stream, msg, use_tuple);
  (void)written;
  if (write_ec) co_return exchange_result{std::nullopt, classify_exchange_error(write_ec, true, url), false};

  // Interim 1xx responses (100 Continue sent unasked) precede the real one.
  for (int interim = 0; interim < 8; ++interim) {
    http::response_parser<http::string_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(o.header_limit, UINT32_MAX)));
    parser.body_limit(o.body_limit);
    if (msg.method() == http::verb::head) parser.skip(true);
    auto [read_ec, read] = co_await http::async_read(stream, buffer, parser, use_tuple);
    (void)read;
    if (read_ec) {
      const bool nothing = interim == 0 && !parser.got_some();
      co_return exchange_result{std::nullopt, classify_exchange_error(read_ec, nothing, url), false};
    }
    auto& res = parser.get();
    const auto status = res.result_int();
    if (status >= 100 && status < 200 && status != 101) continue;
    tcp_layer.expires_never();
    client_response out;
    out.status = status;
    out.headers = detail::import_fields(res.base());
    out.body = std::move(res.body());
    const bool reusable = res.keep_alive() && !parser.need_eof() && buffer.size() == 0 && status != 101;
    co_return exchange_result{std::move(out), {}, reusable};
  }
  co_return exchange_result{
      std::nullopt,
      {make_error(client_errc::protocol_error, "too many interim responses from " + url.host_header), false},
      false};
}

}  // namespace

std::string_view to_string(client_errc code) noexcept {
  switch (code) {
    case client_errc::invalid_url:
      return "invalid_url";
    case client_errc::unsupported_scheme:
      return "unsupported_scheme";
    case client_errc::resolve_failed:
      return "resolve_failed";
    case client_errc::connect_failed:
      return "connect_failed";
    case client_errc::connect_timeout:
      return "connect_timeout";
    case client_errc::tls_failed:
      return "tls_failed";
    case client_errc::timeout:
      return "timeout";
    case client_errc::connection_closed:
      return "connection_closed";
    case client_errc::protocol_error:
      return "protocol_error";
    case client_errc::response_too_large:
      return "response_too_large";
    case client_errc::cancelled:
      return "cancelled";
    case client_errc::http_status:
      return "http_status";
    case client_errc::invalid_json:
      return "invalid_json";
    case client_errc::invalid_request:
      return "invalid_request";
  }
  return "unknown";
}

struct detail::client_state final {
  client_state(asio::any_io_executor executor, client_options o)
      : ex(std::move(executor)), options(std::move(o)), tls(asio::ssl::context::tls_client) {
    tls.set_options(asio::ssl::context::default_workarounds | asio::ssl::context::no_sslv2 |
                    asio::ssl::context::no_sslv3 | asio::ssl::context::no_tlsv1 | asio::ssl::context::no_tlsv1_1);
    if (options.verify_peer) {
      error_code ec;
      tls.set_default_verify_paths(ec);  // no system store: only ca_file is trusted
      if (!options.ca_file.empty()) {
        tls.load_verify_file(options.ca_file, ec);
        if (ec) throw std::runtime_error("cannot load CA file " + options.ca_file + " (" + ec.message() + ")");
      }
      tls.set_verify_mode(asio::ssl::verify_peer);
    } else {
      tls.set_verify_mode(asio::ssl::verify_none);
    }
  }

  // An idle connection to `key`, if one is still usable.
  std::unique_ptr<connection> checkout(const std::string& key) {
    auto it = idle.find(key);
    if (it == idle.end()) return nullptr;
    std::unique_ptr<connection> found;
    auto& list = it->second;
    while (!list.empty() && !found) {
      auto c = std::move(list.back());  // most recently used first
      list.pop_back();
      --idle_count;
      if (steady::now() - c->idle_since < options.idle_timeout && still_usable(c->socket())) found = std::move(c);
    }
    if (list.empty()) idle.erase(it);
    return found;
  }

  void give_back(const std::string& key, std::unique_ptr<connection> c) {
    if (closed || options.max_idle_per_host == 0 || options.max_idle_total == 0) return;
    c->idle_since = steady::now();
    auto& list = idle[key];
    list.push_back(std::move(c));
    ++idle_count;
    if (list.size() > options.max_idle_per_host) {
      list.erase(list.begin());
      --idle_count;
    }
    while (idle_count > options.max_idle_total) evict_oldest();
  }

  void evict_oldest() {
    auto oldest = idle.end();
    for (auto it = idle.begin(); it != idle.end(); ++it) {
      if (!it->second.empty() &&
          (oldest == idle.end() || it->second.front()->idle_since < oldest->second.front()->idle_since)) {
        oldest = it;
      }
    }
    if (oldest == idle.end()) return;
    oldest->second.erase(oldest->second.begin());
    --idle_count;
    if (oldest->second.empty()) idle.erase(oldest);
  }

  asio::any_io_executor ex;
  client_options options;
  asio::ssl::context tls;
  std::map<std::string, std::vector<std::unique_ptr<connection>>> idle;
  std::size_t idle_count = 0;
  bool closed = false;
  client_stats stats;
};

namespace {

using connect_result = result<std::unique_ptr<connection>, attempt_error>;

asio::awaitable<connect_result> open_connection(detail::client_state& self, const endpoint_url& url) {
  const auto deadline = steady::now() + self.options.connect_timeout;
  const auto where = url.host + ":" + std::to_string(url.port);

  std::vector<tcp::endpoint> endpoints;
  if (url.ip_literal) {
    error_code ec;
    const auto address = asio::ip::make_address(url.host, ec);
    if (ec) co_return attempt_error{make_error(client_errc::invalid_url, "bad address " + url.host), false};
    endpoints.emplace_back(address, url.port);
  } else {
    // The system resolver cannot be interrupted; its own timeouts bound it.
    tcp::resolver resolver(self.ex);
    auto [ec, results] = co_await resolver.async_resolve(url.host, std::to_string(url.port), use_tuple);
    if (ec == asio::error::operation_aborted) {
      co_return attempt_error{make_error(client_errc::cancelled, "cancelled resolving " + url.host), false};
    }
    if (ec || results.empty()) {
      co_return attempt_error{
          make_error(client_errc::resolve_failed, "cannot resolve " + url.host + " (" + ec.message() + ")"), true};
    }
    for (const auto& entry : results) endpoints.push_back(entry.endpoint());
  }

  plain_stream tcp_stream(self.ex);
  tcp_stream.expires_at(deadline);
  auto [connect_ec, connected] = co_await tcp_stream.async_connect(endpoints, use_tuple);
  (void)connected;
  if (connect_ec) {
    if (connect_ec == beast::error::timeout) {
      co_return attempt_error{make_error(client_errc::connect_timeout, "timed out connecting to " + where), true};
    }
    if (connect_ec == asio::error::operation_aborted) {
      co_return attempt_error{make_error(client_errc::cancelled, "cancelled connecting to " + where), false};
    }
    co_return attempt_error{
        make_error(client_errc::connect_failed, "cannot connect to " + where + " (" + connect_ec.message() + ")"),
        true};
  }
  error_code ignored;
  tcp_stream.socket().set_option(tcp::no_delay(true), ignored);  // best effort
  ++self.stats.connections_opened;
  if (!url.tls) co_return std::make_unique<connection>(std::move(tcp_stream));

  auto conn = std::make_unique<connection>(std::move(tcp_stream), self.tls);
  auto& stream = std::get<tls_stream>(conn->stream);
  // SNI carries names only (RFC 6066 section 3).
  if (!url.ip_literal && SSL_set_tlsext_host_name(stream.native_handle(), url.host.c_str()) != 1) {
    co_return attempt_error{make_error(client_errc::tls_failed, "cannot set SNI for " + url.host), false};
  }
  if (self.options.verify_peer) stream.set_verify_callback(asio::ssl::host_name_verification(url.host));
  beast::get_lowest_layer(stream).expires_at(deadline);
  auto [handshake_ec] = co_await stream.async_handshake(asio::ssl::stream_base::client, use_tuple);
  if (handshake_ec) {
    if (handshake_ec == beast::error::timeout) {
      co_return attempt_error{make_error(client_errc::connect_timeout, "TLS handshake with " + where + " timed out"),
                              true};
    }
    if (handshake_ec.category() == asio::error::get_ssl_category()) {
      std::string why = handshake_ec.message();
      const long verify = SSL_get_verify_result(stream.native_handle());
      if (verify != X509_V_OK) why += ": " + std::string(X509_verify_cert_error_string(verify));
      // Retrying cannot make an untrusted certificate trusted.
      co_return attempt_error{
          make_error(client_errc::tls_failed, "TLS handshake with " + where + " failed (" + why + ")"), false};
    }
    co_return attempt_error{make_error(client_errc::connect_failed,
                                       "TLS handshake with " + where + " failed (" + handshake_ec.message() + ")"),
                            true};
  }
  beast::get_lowest_layer(stream).expires_never();
  co_return conn;
}

// One attempt: a pooled or new connection, the exchange, the pool.
asio::awaitable<result<client_response, attempt_error>> attempt(detail::client_state& self, const endpoint_url& url,
                                                                const http::request<http::string_body>& msg) {
  auto conn = self.checkout(url.pool_key);
  bool reused = conn != nullptr;
  for (;;) {
    if (conn) {
      ++self.stats.connections_reused;
    } else {
      auto opened = co_await open_connection(self, url);
      if (!opened) co_return std::move(opened).error();
      conn = std::move(opened).value();
    }
    auto out = co_await std::visit([&](auto& stream) { return exchange(stream, conn->buffer, msg, self.options, url); },
                                   conn->stream);
    if (out.response) {
      if (out.reusable) self.give_back(url.pool_key, std::move(conn));
      co_return std::move(*out.response);
    }
    if (reused && out.failure.stale) {
      // The server closed the pooled connection while it sat idle.
      --self.stats.connections_reused;
      conn.reset();
      reused = false;
      continue;
    }
    co_return std::move(out.failure);
  }
}

std::chrono::milliseconds backoff_for(const client_options& o, unsigned retry) {
  auto delay = o.backoff;
  for (unsigned i = 1; i < retry && delay < o.backoff_max; ++i) delay *= 2;
  return std::min(delay, o.backoff_max);
}

asio::awaitable<client_result> send_request(std::shared_ptr<detail::client_state> self, client_request req) {
  ++self->stats.requests;
  auto url = parse_url(req.url);
  if (!url) co_return std::move(url).error();

  http::request<http::string_body> msg{detail::to_verb(req.method), url->target, 11};
  if (!detail::export_fields(req.headers, msg.base())) {
    co_return make_error(client_errc::invalid_request,
                         "a header of the request to " + req.url + " has an invalid name or value");
  }
  msg.set(http::field::host, url->host_header);
  if (!self->options.user_agent.empty() && !req.headers.contains("User-Agent")) {
    msg.set(http::field::user_agent, self->options.user_agent);
  }
  msg.body() = std::move(req.body);
  msg.keep_alive(true);
  msg.prepare_payload();

  const unsigned max_attempts = std::max(1U, self->options.max_attempts);
  for (unsigned n = 1;; ++n) {
    ++self->stats.attempts;
    auto out = co_await attempt(*self, *url, msg);
    const bool last = n >= max_attempts;
    if (out) {
      if (status_class(out->status) != 5 || last) {
        out->attempts = n;
        co_return std::move(out).value();
      }
    } else if (!out.error().retryable || last) {
      auto error = std::move(out).error().error;
      error.attempts = n;
      co_return error;
    }
    asio::steady_timer pause(self->ex, backoff_for(self->options, n));
    auto [ec] = co_await pause.async_wait(use_tuple);
    if (ec) co_return client_error{client_errc::cancelled, "request to " + req.url + " cancelled", n, 0};
    ++self->stats.retries;
  }
}

}  // namespace

http_client::http_client(asio::any_io_executor ex, client_options options)
    : state_(std::make_shared<detail::client_state>(std::move(ex), std::move(options))) {}

http_client::~http_client() {
  state_->closed = true;
  close_idle();
}

asio::awaitable<client_result> http_client::send(client_request req) {
  return send_request(state_, std::move(req));
}

asio::awaitable<client_result> http_client::get(std::string url) {
  client_request req;
  req.url = std::move(url);
  return send_request(state_, std::move(req));
}

asio::awaitable<client_result> http_client::post(std::string url, std::string body, std::string content_type) {
  client_request req;
  req.method = http_method::post;
  req.url = std::move(url);
  req.body = std::move(body);
  if (!content_type.empty()) req.headers.set("Content-Type", std::move(content_type));
  return send_request(state_, std::move(req));
}

void http_client::close_idle() noexcept {
  state_->idle.clear();
  state_->idle_count = 0;
}

client_stats http_client::stats() const noexcept {
  return state_->stats;
}

}  // namespace cascadence::net

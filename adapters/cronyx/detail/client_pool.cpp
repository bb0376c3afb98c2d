#include "adapters/cronyx/detail/client_pool.hpp"

#include "net/http_client.hpp"

#include <boost/asio/execution/context.hpp>
#include <boost/asio/query.hpp>

namespace cascadence::adapters::cronyx::detail {

namespace asio = boost::asio;

client_pool::client_pool(asio::execution_context& ctx) : asio::execution_context::service(ctx) {}

client_pool::~client_pool() = default;

net::http_client& client_pool::client_for(const asio::any_io_executor& ex, const settings& s) {
  for (auto& [known, c] : clients_) {
    if (known == s) return *c;
  }
  net::client_options o;
  o.connect_timeout = s.timeout;
  o.request_timeout = s.timeout;
  o.max_attempts = s.max_attempts;
  o.backoff = s.backoff;
  o.body_limit = s.body_limit;
  o.max_idle_per_host = s.max_idle;
  o.max_idle_total = s.max_idle;
  o.user_agent = "cascadence-cronyx/1";
  clients_.emplace_back(s, std::make_unique<net::http_client>(ex, std::move(o)));
  return *clients_.back().second;
}

client_pool& client_pool::of(const asio::any_io_executor& ex) {
  return asio::use_service<client_pool>(asio::query(ex, asio::execution::context));
}

void client_pool::shutdown() {
  // Closes the pooled sockets while the socket services still exist.
  clients_.clear();
}

}  // namespace cascadence::adapters::cronyx::detail

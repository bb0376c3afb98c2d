#pragma once

#include "adapters/cronyx/cronyx_client.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/execution_context.hpp>

#include <memory>
#include <utility>
#include <vector>

namespace cascadence::net {
class http_client;
}

namespace cascadence::adapters::cronyx::detail {

/// The HTTP clients (with their keep-alive pools) of the cronyx clients used
/// on one execution context. An Asio service, so the clients and their
/// sockets go away with the io_context that runs them, before its socket
/// services do, whoever still holds a cronyx::client.
class client_pool final : public boost::asio::execution_context::service {
 public:
  using key_type = client_pool;
  // NOLINTNEXTLINE(cppcoreguidelines-avoid-non-const-global-variables): Asio's service identity
  static inline boost::asio::execution_context::id id;

  explicit client_pool(boost::asio::execution_context& ctx);
  ~client_pool() override;
  client_pool(const client_pool&) = delete;
  client_pool& operator=(const client_pool&) = delete;

  /// The HTTP client for `s` on this context, made on first use with `ex`.
  [[nodiscard]] net::http_client& client_for(const boost::asio::any_io_executor& ex, const settings& s);

  /// The pool of the context `ex` belongs to.
  [[nodiscard]] static client_pool& of(const boost::asio::any_io_executor& ex);

 private:
  void shutdown() override;

  std::vector<std::pair<settings, std::unique_ptr<net::http_client>>> clients_;
};

}  // namespace cascadence::adapters::cronyx::detail

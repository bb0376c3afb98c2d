#pragma once

#include "net/server_observer.hpp"

#include <string_view>

namespace cascadence::adapters::metrics {

class metrics;

/// The `route` label of responses no route matched (404, 405, requests
/// refused while being read). Route patterns start with '/', so this one
/// cannot collide with them.
inline constexpr std::string_view unmatched_route = "(unmatched)";
/// The `method` label of requests whose method was not read or is not one
/// the server knows (malformed requests, 501).
inline constexpr std::string_view unknown_method = "(unknown)";

/// Counts every response an http_server writes in `registry`
/// (cascadence_http_request_duration_seconds, cascadence_http_requests_total),
/// every limit hit (cascadence_http_limit_hits_total) and every connection
/// shed (cascadence_http_connections_shed_total).
/// The route label is the matched route's pattern (`/api/v1/runs/{id}`),
/// never the request's path, so the number of series stays bounded by the
/// routes registered. Errors keep net's default (std::clog). Set it as
/// `net::server_options::observer`.
class http_metrics final : public net::server_observer {
 public:
  /// `registry` must outlive this object.
  explicit http_metrics(metrics& registry) noexcept : registry_(registry) {}

  void on_response(const net::response_event& event) override;
  void on_limit(net::limit_kind kind) override;
  void on_shed(net::shed_reason reason) override;

 private:
  metrics& registry_;
};

}  // namespace cascadence::adapters::metrics

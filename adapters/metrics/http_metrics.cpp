#include "adapters/metrics/http_metrics.hpp"

#include "adapters/metrics/metrics.hpp"

namespace cascadence::adapters::metrics {

void http_metrics::on_response(const net::response_event& event) {
  const std::string_view route = event.route != nullptr ? std::string_view(event.route->pattern) : unmatched_route;
  const std::string_view method = event.method ? net::to_string(*event.method) : unknown_method;
  registry_.record_http_request(route, method, event.status,
                                std::chrono::duration_cast<std::chrono::nanoseconds>(event.elapsed));
}

void http_metrics::on_limit(net::limit_kind kind) {
  registry_.record_http_limit(net::to_string(kind));
}

void http_metrics::on_shed(net::shed_reason reason) {
  registry_.record_http_connection_shed(net::to_string(reason));
}

}  // namespace cascadence::adapters::metrics

#pragma once

namespace cascadence::net {
class router;
}

namespace cascadence::adapters::metrics {

class metrics;

/// The content type of the Prometheus text exposition format.
inline constexpr const char* metrics_content_type = "text/plain; version=0.0.4; charset=utf-8";

/// Adds `GET /metrics` answering with `registry`'s text exposition.
/// `registry` must outlive the router.
void add_metrics_route(net::router& routes, metrics& registry);

}  // namespace cascadence::adapters::metrics

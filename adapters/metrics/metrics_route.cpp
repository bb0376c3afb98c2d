#include "adapters/metrics/metrics_route.hpp"

#include "adapters/metrics/metrics.hpp"
#include "net/router.hpp"

namespace cascadence::adapters::metrics {

void add_metrics_route(net::router& routes, metrics& registry) {
  routes.get("/metrics", [&registry](net::request&) {
    net::response res;
    res.content_type = metrics_content_type;
    res.body = registry.render();
    return res;
  });
}

}  // namespace cascadence::adapters::metrics

#pragma once

#include "adapters/webhooks/webhook_observer.hpp"

#include <string_view>

namespace cascadence::adapters::metrics {

class metrics;

/// Counts what the webhook routes do in `registry`:
/// cascadence_webhook_requests_total{source,code} for every answer (unknown
/// sources all under webhooks::unknown_source), and
/// cascadence_webhook_deliveries_total{source,task_name} for every event
/// handed to a subscriber. Pass it to webhooks::add_webhook_routes().
class webhook_metrics final : public webhooks::webhook_observer {
 public:
  /// `registry` must outlive this object.
  explicit webhook_metrics(metrics& registry) noexcept : registry_(registry) {}

  void on_request(std::string_view source, unsigned status) override;
  void on_delivery(std::string_view source, std::string_view subscriber) override;

 private:
  metrics& registry_;
};

}  // namespace cascadence::adapters::metrics

#include "adapters/metrics/webhook_metrics.hpp"

#include "adapters/metrics/metrics.hpp"

namespace cascadence::adapters::metrics {

void webhook_metrics::on_request(std::string_view source, unsigned status) {
  registry_.record_webhook_request(source, status);
}

void webhook_metrics::on_delivery(std::string_view source, std::string_view subscriber) {
  registry_.record_webhook_delivery(source, subscriber);
}

}  // namespace cascadence::adapters::metrics

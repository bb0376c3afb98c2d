#include "service/run_events.hpp"

#include "adapters/events/emitter.hpp"
#include "adapters/events/transports.hpp"
#include "adapters/metrics/metrics.hpp"
#include "service/config.hpp"

namespace cascadence::service {

std::unique_ptr<adapters::events::emitter> make_event_emitter(const config& cfg, const boost::asio::any_io_executor& ex,
                                                              adapters::metrics::metrics& metrics,
                                                              std::function<void(const std::string&)> log) {
  if (!cfg.events.enabled()) return nullptr;
  std::unique_ptr<adapters::events::transport> carrier;
  try {
    carrier = adapters::events::make_transport(cfg.events, ex);
  } catch (const std::runtime_error& e) {
    throw config_error(e.what());
  }
  adapters::events::emitter_hooks hooks;
  hooks.sent = [&metrics](std::string_view transport, std::uint64_t n) { metrics.record_event_sent(transport, n); };
  hooks.dropped = [&metrics](std::string_view transport, std::string_view reason, std::uint64_t n) {
    metrics.record_event_dropped(transport, reason, n);
  };
  hooks.log = std::move(log);
  return std::make_unique<adapters::events::emitter>(ex, std::move(carrier), cfg.events.emitter, std::move(hooks));
}

std::chrono::milliseconds event_drain_time(const config& cfg) noexcept {
  return std::max<std::chrono::milliseconds>(std::chrono::seconds(1), 2 * cfg.events.emitter.deadline);
}

}  // namespace cascadence::service

#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace cascadence::adapters::events {
class emitter;
}
namespace cascadence::adapters::metrics {
class metrics;
}

namespace cascadence::service {

struct config;

/// The run event emitter `cfg.events` asks for, on `ex`, counting in
/// `metrics` and logging its (rate-limited) drop lines to `log`; null when
/// events are off. Throws config_error when its transport cannot be made.
[[nodiscard]] std::unique_ptr<adapters::events::emitter> make_event_emitter(
    const config& cfg, const boost::asio::any_io_executor& ex, adapters::metrics::metrics& metrics,
    std::function<void(const std::string&)> log);

/// How long a process that is ending waits for its queued events: twice a
/// send's deadline, and at least a second.
[[nodiscard]] std::chrono::milliseconds event_drain_time(const config& cfg) noexcept;

}  // namespace cascadence::service

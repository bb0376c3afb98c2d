#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

namespace cascadence::cli {

/// The global metrics options (`task --metrics-port N --metrics-linger D
/// --pushgateway URL COMMAND ...`). Commands that own an io_context (run,
/// trigger, serve) honour them; the others have no loop and ignore them.
struct metrics_options final {
  /// Serve GET /metrics on 127.0.0.1:port while the command runs (0: a free port).
  std::optional<std::uint16_t> port;
  /// Keep serving this long after the command finished, for a last scrape.
  std::chrono::milliseconds linger{0};
  /// When the command ends, PUT the series to this Pushgateway base URL.
  std::optional<std::string> pushgateway;

  [[nodiscard]] bool wanted() const noexcept { return port.has_value() || pushgateway.has_value(); }
};

}  // namespace cascadence::cli

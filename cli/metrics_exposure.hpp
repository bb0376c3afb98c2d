#pragma once

#include "cli/metrics_options.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <cstdint>
#include <iosfwd>
#include <memory>

namespace cascadence::adapters::metrics {
class metrics;
}

namespace cascadence::cli {

/// Exposes one command's series: an HTTP server for /metrics on the command's
/// own loop (its requests counted in `registry`'s cascadence_http_* series),
/// and a push to a Pushgateway when the command ends. Use it from the loop's
/// thread.
class metrics_exposure final {
 public:
  /// `registry` and `log` must outlive this object.
  metrics_exposure(boost::asio::any_io_executor ex, metrics_options options, adapters::metrics::metrics& registry,
                   std::ostream& log);
  ~metrics_exposure();
  metrics_exposure(const metrics_exposure&) = delete;
  metrics_exposure& operator=(const metrics_exposure&) = delete;

  /// Starts serving /metrics when a port was asked for, and logs its URL.
  /// Throws std::runtime_error when the port cannot be bound.
  void start();

  /// The bound port once start() served, else 0.
  [[nodiscard]] std::uint16_t port() const noexcept;

  /// When the command is done: pushes (if asked), keeps serving for the
  /// linger period (cut short by cut_linger()), then stops the server.
  /// Returns false when the push failed (already logged).
  [[nodiscard]] boost::asio::awaitable<bool> finish();

  /// Ends the linger now (a signal arrived after the command finished).
  void cut_linger();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace cascadence::cli

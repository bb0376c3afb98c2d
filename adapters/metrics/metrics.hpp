#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace cascadence::engine {
class observer;
}
namespace cascadence::scheduling {
class scheduler_observer;
}

namespace cascadence::adapters::metrics {

/// Every series Cascadence exposes (prometheus-cpp core's counters, gauges
/// and histograms), rendered in the text exposition format by render(). The
/// engine and the scheduler report through the observers it hands out; HTTP
/// and webhook code calls the record_* functions. Thread-safe.
///
/// Series (label `task_name` unless said otherwise):
/// - task_latency_seconds (histogram), task_success_total, task_failure_total
///   (failed or timed out), cascadence_task_runs_total{status},
///   cascadence_tasks_running (gauge), cascadence_task_last_success_timestamp_seconds;
/// - cascadence_schedule_fires_total, cascadence_schedule_skips_total{reason},
///   cascadence_schedule_lateness_seconds (histogram),
///   cascadence_schedule_next_fire_timestamp_seconds;
/// - cascadence_webhook_requests_total{source,code},
///   cascadence_webhook_deliveries_total{source,task_name},
///   cascadence_http_request_duration_seconds{route,method} (histogram),
///   cascadence_http_requests_total{route,method,code},
///   cascadence_http_limit_hits_total{limit} (net::limit_kind names),
///   cascadence_http_connections_shed_total{reason} (net::shed_reason names:
///   idle, incomplete_request), connections closed to make room for new
///   ones at `http.max_connections`;
/// - cascadence_http_runs_in_flight, cascadence_http_runs_limit (gauges) and
///   cascadence_http_runs_refused_total: runs started over HTTP and the
///   requests refused at `http.max_runs`;
/// - cascadence_events_sent_total{transport} and
///   cascadence_events_dropped_total{transport,reason}: run events
///   (adapters/events) delivered and given up;
/// - cascadence_internal_errors_total{where}: exceptions that escaped a
///   background coroutine (a bug, logged as well).
class metrics final {
 public:
  metrics();
  ~metrics();
  metrics(const metrics&) = delete;
  metrics& operator=(const metrics&) = delete;

  /// Feeds task series from graph runs.
  [[nodiscard]] engine::observer& engine_observer() noexcept;
  /// Feeds schedule series from the cron scheduler.
  [[nodiscard]] scheduling::scheduler_observer& scheduler_observer() noexcept;

  void record_webhook_request(std::string_view source, unsigned status);
  void record_webhook_delivery(std::string_view source, std::string_view task);
  void record_http_request(std::string_view route, std::string_view method, unsigned status,
                           std::chrono::nanoseconds duration);
  /// An HTTP server limit was hit (`limit`: a net::limit_kind name).
  void record_http_limit(std::string_view limit);
  /// A connection was closed to make room for a new one (`reason`: a
  /// net::shed_reason name).
  void record_http_connection_shed(std::string_view reason);

  /// Runs started over HTTP going now.
  void set_http_runs_in_flight(std::size_t in_flight);
  /// `http.max_runs` in force (0: no limit).
  void set_http_runs_limit(std::size_t limit);
  /// A request refused for want of room under `http.max_runs`.
  void record_http_run_refused();
  /// `n` run events delivered by `transport`.
  void record_event_sent(std::string_view transport, std::uint64_t n);
  /// `n` run events given up by `transport` for `reason`.
  void record_event_dropped(std::string_view transport, std::string_view reason, std::uint64_t n);
  /// An exception escaped the background coroutine `where`.
  void record_internal_error(std::string_view where);

  /// The text exposition (version 0.0.4) of every series.
  [[nodiscard]] std::string render() const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace cascadence::adapters::metrics

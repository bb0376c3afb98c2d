#include "adapters/metrics/metrics.hpp"

#include "adapters/metrics/detail/series_family.hpp"
#include "engine/graph.hpp"
#include "engine/observer.hpp"
#include "engine/runner.hpp"
#include "scheduling/cron_scheduler.hpp"

#include <atomic>
#include <mutex>
#include <string>
#include <unordered_map>

namespace cascadence::adapters::metrics {

namespace {

using detail::series_family;
using prometheus::Counter;
using prometheus::Gauge;
using prometheus::Histogram;

const std::vector<double> latency_buckets{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300};
const std::vector<double> lateness_buckets{0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5};
const std::vector<double> http_buckets{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1};

double seconds(std::chrono::nanoseconds d) {
  return std::chrono::duration<double>(d).count();
}
double unix_seconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

}  // namespace

struct metrics::impl final : engine::observer, scheduling::scheduler_observer {
  // In exposition order.
  series_family<Histogram> latency{"task_latency_seconds", "Duration of task runs, all attempts included.",
                                   latency_buckets};
  series_family<Counter> success{"task_success_total", "Task runs that succeeded."};
  series_family<Counter> failure{"task_failure_total", "Task runs that failed or timed out."};
  series_family<Counter> runs{"cascadence_task_runs_total", "Settled task runs by final status."};
  series_family<Gauge> running{"cascadence_tasks_running", "Task runs in flight."};
  series_family<Gauge> last_success{"cascadence_task_last_success_timestamp_seconds",
                                    "When the task last succeeded (Unix time)."};
  series_family<Counter> fires{"cascadence_schedule_fires_total", "Schedule fires that started a run."};
  series_family<Counter> skips{"cascadence_schedule_skips_total",
                               "Schedule fires that did not start a run, by reason (overlap, catchup_window, paused)."};
  series_family<Histogram> lateness{"cascadence_schedule_lateness_seconds",
                                    "Actual start minus intended start (nominal time plus jitter) of schedule fires.",
                                    lateness_buckets};
  series_family<Gauge> next_fire{"cascadence_schedule_next_fire_timestamp_seconds",
                                 "The schedule's next nominal fire (Unix time)."};
  series_family<Counter> webhook_requests{"cascadence_webhook_requests_total",
                                          "Webhook requests by source and HTTP status code."};
  series_family<Counter> webhook_deliveries{"cascadence_webhook_deliveries_total",
                                            "Webhook events delivered to tasks."};
  series_family<Histogram> http_duration{"cascadence_http_request_duration_seconds",
                                         "Time to answer HTTP requests, by route and method.", http_buckets};
  series_family<Counter> http_requests{"cascadence_http_requests_total",
                                       "HTTP requests by route, method and status code."};
  series_family<Counter> http_limits{"cascadence_http_limit_hits_total",
                                     "Times an HTTP server limit was hit, by limit (header_size, connections, ...)."};
  series_family<Counter> http_shed{"cascadence_http_connections_shed_total",
                                   "HTTP connections closed to make room for new ones at http.max_connections, by what "
                                   "they were waiting for (idle, incomplete_request)."};
  series_family<Gauge> http_runs{"cascadence_http_runs_in_flight",
                                 "Runs started over HTTP (webhook deliveries, REST API) going now."};
  series_family<Gauge> http_runs_limit{"cascadence_http_runs_limit",
                                       "The most runs started over HTTP that may go at once (0: no limit)."};
  series_family<Counter> http_runs_refused{"cascadence_http_runs_refused_total",
                                           "HTTP requests refused (503) because http.max_runs runs were going."};
  series_family<Counter> events_sent{"cascadence_events_sent_total", "Run events delivered, by transport."};
  series_family<Counter> events_dropped{"cascadence_events_dropped_total",
                                        "Run events given up, by transport and reason (queue_full, timeout, "
                                        "send_failed, shutdown)."};
  series_family<Counter> internal_errors{"cascadence_internal_errors_total",
                                         "Exceptions that escaped a background coroutine, by coroutine."};
  // The HTTP run series have no labels: created together on first use (a
  // process that runs nothing over HTTP shows none), then updated without
  // a lookup.
  std::once_flag http_runs_created;
  Gauge* http_runs_now = nullptr;
  Gauge* http_runs_max = nullptr;
  Counter* http_runs_refusals = nullptr;
  void http_runs_series() {
    std::call_once(http_runs_created, [this] {
      http_runs_now = &http_runs.get({});
      http_runs_max = &http_runs_limit.get({});
      http_runs_refusals = &http_runs_refused.get({});
    });
  }

  // The engine's observer keeps the series of each task it has seen, so the
  // hot path is one map lookup.
  struct task_series {
    Histogram* latency;
    Counter* success;
    Counter* failure;
    Gauge* running;
    Gauge* last_success;
  };
  std::mutex tasks_mutex;
  std::unordered_map<std::string, task_series> tasks;
  /// The size of the last render, reserved up front for the next one.
  std::atomic<std::size_t> last_render_size{0};

  task_series& series(std::string_view task) {
    const std::lock_guard lock(tasks_mutex);
    auto it = tasks.find(std::string(task));
    if (it != tasks.end()) return it->second;
    const std::initializer_list<detail::label> labels{{"task_name", task}};
    task_series s{&latency.get(labels), &success.get(labels), &failure.get(labels), &running.get(labels),
                  &last_success.get(labels)};
    return tasks.emplace(std::string(task), s).first->second;
  }

  // engine::observer
  void on_task_started(const engine::graph& g, const engine::task_record& record, unsigned attempt) override {
    if (attempt == 1) series(g.name(record.task)).running->Increment();
  }

  void on_task_finished(const engine::graph& g, const engine::task_record& record) override {
    const auto name = g.name(record.task);
    runs.get({{"task_name", name}, {"status", engine::to_string(record.status)}}).Increment();
    if (record.attempts == 0) return;  // skipped or cancelled before it started
    auto& s = series(name);
    s.running->Decrement();
    s.latency->Observe(seconds(record.finished - record.started));
    if (record.status == engine::run_status::success) {
      s.success->Increment();
      s.last_success->Set(unix_seconds(record.finished));
    } else if (record.status == engine::run_status::failed || record.status == engine::run_status::timed_out) {
      s.failure->Increment();
    }
  }

  // scheduling::scheduler_observer
  void on_fire(const std::string& task, std::chrono::sys_seconds, std::chrono::nanoseconds late,
               const engine::run_id&) override {
    fires.get({{"task_name", task}}).Increment();
    lateness.get({{"task_name", task}}).Observe(seconds(late));
  }

  void on_skip(const std::string& task, std::chrono::sys_seconds, scheduling::skip_reason reason,
               std::size_t count) override {
    skips.get({{"task_name", task}, {"reason", scheduling::to_string(reason)}}).Increment(static_cast<double>(count));
  }

  void on_next_fire(const std::string& task, std::optional<std::chrono::sys_seconds> next) override {
    auto& gauge = next_fire.get({{"task_name", task}});
    if (next) {
      gauge.Set(static_cast<double>(next->time_since_epoch().count()));
    } else {
      next_fire.remove(gauge);
    }
  }
};

metrics::metrics() : impl_(std::make_unique<impl>()) {}
metrics::~metrics() = default;

engine::observer& metrics::engine_observer() noexcept {
  return *impl_;
}
scheduling::scheduler_observer& metrics::scheduler_observer() noexcept {
  return *impl_;
}

void metrics::record_webhook_request(std::string_view source, unsigned status) {
  const auto code = std::to_string(status);
  impl_->webhook_requests.get({{"source", source}, {"code", code}}).Increment();
}

void metrics::record_webhook_delivery(std::string_view source, std::string_view task) {
  impl_->webhook_deliveries.get({{"source", source}, {"task_name", task}}).Increment();
}

void metrics::record_http_request(std::string_view route, std::string_view method, unsigned status,
                                  std::chrono::nanoseconds duration) {
  impl_->http_duration.get({{"route", route}, {"method", method}}).Observe(seconds(duration));
  const auto code = std::to_string(status);
  impl_->http_requests.get({{"route", route}, {"method", method}, {"code", code}}).Increment();
}

void metrics::record_http_limit(std::string_view limit) {
  impl_->http_limits.get({{"limit", limit}}).Increment();
}

void metrics::record_http_connection_shed(std::string_view reason) {
  impl_->http_shed.get({{"reason", reason}}).Increment();
}

void metrics::set_http_runs_in_flight(std::size_t in_flight) {
  impl_->http_runs_series();
  impl_->http_runs_now->Set(static_cast<double>(in_flight));
}

void metrics::set_http_runs_limit(std::size_t limit) {
  impl_->http_runs_series();
  impl_->http_runs_max->Set(static_cast<double>(limit));
}

void metrics::record_http_run_refused() {
  impl_->http_runs_series();
  impl_->http_runs_refusals->Increment();
}

void metrics::record_event_sent(std::string_view transport, std::uint64_t n) {
  impl_->events_sent.get({{"transport", transport}}).Increment(static_cast<double>(n));
}

void metrics::record_event_dropped(std::string_view transport, std::string_view reason, std::uint64_t n) {
  impl_->events_dropped.get({{"transport", transport}, {"reason", reason}}).Increment(static_cast<double>(n));
}

void metrics::record_internal_error(std::string_view where) {
  impl_->internal_errors.get({{"where", where}}).Increment();
}

std::string metrics::render() const {
  auto& m = *impl_;
  std::string out;
  // A little over the last size: series come and go between scrapes.
  out.reserve(m.last_render_size.load(std::memory_order_relaxed) * 9 / 8);
  m.latency.render(out);
  m.success.render(out);
  m.failure.render(out);
  m.runs.render(out);
  m.running.render(out);
  m.last_success.render(out);
  m.fires.render(out);
  m.skips.render(out);
  m.lateness.render(out);
  m.next_fire.render(out);
  m.webhook_requests.render(out);
  m.webhook_deliveries.render(out);
  m.http_duration.render(out);
  m.http_requests.render(out);
  m.http_limits.render(out);
  m.http_shed.render(out);
  m.http_runs.render(out);
  m.http_runs_limit.render(out);
  m.http_runs_refused.render(out);
  m.events_sent.render(out);
  m.events_dropped.render(out);
  m.internal_errors.render(out);
  m.last_render_size.store(out.size(), std::memory_order_relaxed);
  return out;
}

}  // namespace cascadence::adapters::metrics

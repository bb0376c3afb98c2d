#include "adapters/metrics/metrics.hpp"

#include "adapters/metrics/detail/text_exposition.hpp"
#include "engine/graph.hpp"
#include "engine/observer.hpp"
#include "engine/runner.hpp"
#include "scheduling/cron_scheduler.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <atomic>
#include <mutex>
#include <unordered_map>

namespace cascadence::adapters::metrics {

namespace {

const prometheus::Histogram::BucketBoundaries latency_buckets{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5,
                                                              1,     2.5,  5,     10,   30,  60,   300};
const prometheus::Histogram::BucketBoundaries lateness_buckets{0.0005, 0.001, 0.002, 0.005, 0.01, 0.025,
                                                               0.05,   0.1,   0.25,  0.5,   1,    5};
const prometheus::Histogram::BucketBoundaries http_buckets{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                           0.01,   0.025,   0.05,   0.1,   0.25,   1};

double seconds(std::chrono::nanoseconds d) {
  return std::chrono::duration<double>(d).count();
}
double unix_seconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

}  // namespace

struct metrics::impl final : engine::observer, scheduling::scheduler_observer {
  prometheus::Registry registry;
  prometheus::Family<prometheus::Histogram>& latency = prometheus::BuildHistogram()
                                                           .Name("task_latency_seconds")
                                                           .Help("Duration of task runs, all attempts included.")
                                                           .Register(registry);
  prometheus::Family<prometheus::Counter>& success =
      prometheus::BuildCounter().Name("task_success_total").Help("Task runs that succeeded.").Register(registry);
  prometheus::Family<prometheus::Counter>& failure = prometheus::BuildCounter()
                                                         .Name("task_failure_total")
                                                         .Help("Task runs that failed or timed out.")
                                                         .Register(registry);
  prometheus::Family<prometheus::Counter>& runs = prometheus::BuildCounter()
                                                      .Name("cascadence_task_runs_total")
                                                      .Help("Settled task runs by final status.")
                                                      .Register(registry);
  prometheus::Family<prometheus::Gauge>& running =
      prometheus::BuildGauge().Name("cascadence_tasks_running").Help("Task runs in flight.").Register(registry);
  prometheus::Family<prometheus::Gauge>& last_success = prometheus::BuildGauge()
                                                            .Name("cascadence_task_last_success_timestamp_seconds")
                                                            .Help("When the task last succeeded (Unix time).")
                                                            .Register(registry);
  prometheus::Family<prometheus::Counter>& fires = prometheus::BuildCounter()
                                                       .Name("cascadence_schedule_fires_total")
                                                       .Help("Schedule fires that started a run.")
                                                       .Register(registry);
  prometheus::Family<prometheus::Counter>& skips =
      prometheus::BuildCounter()
          .Name("cascadence_schedule_skips_total")
          .Help("Schedule fires that did not start a run, by reason (overlap, catchup_window, paused).")
          .Register(registry);
  prometheus::Family<prometheus::Histogram>& lateness =
      prometheus::BuildHistogram()
          .Name("cascadence_schedule_lateness_seconds")
          .Help("Actual start minus intended start (nominal time plus jitter) of schedule fires.")
          .Register(registry);
  prometheus::Family<prometheus::Gauge>& next_fire = prometheus::BuildGauge()
                                                         .Name("cascadence_schedule_next_fire_timestamp_seconds")
                                                         .Help("The schedule's next nominal fire (Unix time).")
                                                         .Register(registry);
  prometheus::Family<prometheus::Counter>& webhook_requests =
      prometheus::BuildCounter()
          .Name("cascadence_webhook_requests_total")
          .Help("Webhook requests by source and HTTP status code.")
          .Register(registry);
  prometheus::Family<prometheus::Counter>& webhook_deliveries = prometheus::BuildCounter()
                                                                    .Name("cascadence_webhook_deliveries_total")
                                                                    .Help("Webhook events delivered to tasks.")
                                                                    .Register(registry);
  prometheus::Family<prometheus::Histogram>& http_duration =
      prometheus::BuildHistogram()
          .Name("cascadence_http_request_duration_seconds")
          .Help("Time to answer HTTP requests, by route and method.")
          .Register(registry);
  prometheus::Family<prometheus::Counter>& http_requests = prometheus::BuildCounter()
                                                               .Name("cascadence_http_requests_total")
                                                               .Help("HTTP requests by route, method and status code.")
                                                               .Register(registry);

  // Family::Add() looks labels up under a lock; the engine's observer keeps
  // the series of each task it has seen, so the hot path is one map lookup.
  struct task_series {
    prometheus::Histogram* latency;
    prometheus::Counter* success;
    prometheus::Counter* failure;
    prometheus::Gauge* running;
    prometheus::Gauge* last_success;
  };
  std::mutex tasks_mutex;
  std::unordered_map<std::string, task_series> tasks;
  /// The size of the last render, reserved up front for the next one.
  std::atomic<std::size_t> last_render_size{0};

  task_series& series(std::string_view task) {
    const std::lock_guard lock(tasks_mutex);
    auto it = tasks.find(std::string(task));
    if (it != tasks.end()) return it->second;
    const prometheus::Labels labels{{"task_name", std::string(task)}};
    task_series s{&latency.Add(labels, latency_buckets), &success.Add(labels), &failure.Add(labels),
                  &running.Add(labels), &last_success.Add(labels)};
    return tasks.emplace(std::string(task), s).first->second;
  }

  // engine::observer
  void on_task_started(const engine::graph& g, const engine::task_record& record, unsigned attempt) override {
    if (attempt == 1) series(g.name(record.task)).running->Increment();
  }

  void on_task_finished(const engine::graph& g, const engine::task_record& record) override {
    const auto name = g.name(record.task);
    runs.Add({{"task_name", std::string(name)}, {"status", std::string(engine::to_string(record.status))}}).Increment();
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
    const prometheus::Labels labels{{"task_name", task}};
    fires.Add(labels).Increment();
    lateness.Add(labels, lateness_buckets).Observe(seconds(late));
  }

  void on_skip(const std::string& task, std::chrono::sys_seconds, scheduling::skip_reason reason,
               std::size_t count) override {
    skips.Add({{"task_name", task}, {"reason", std::string(scheduling::to_string(reason))}})
        .Increment(static_cast<double>(count));
  }

  void on_next_fire(const std::string& task, std::optional<std::chrono::sys_seconds> next) override {
    auto& gauge = next_fire.Add({{"task_name", task}});
    if (next) {
      gauge.Set(static_cast<double>(next->time_since_epoch().count()));
    } else {
      next_fire.Remove(&gauge);
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
  impl_->webhook_requests.Add({{"source", std::string(source)}, {"code", std::to_string(status)}}).Increment();
}

void metrics::record_webhook_delivery(std::string_view source, std::string_view task) {
  impl_->webhook_deliveries.Add({{"source", std::string(source)}, {"task_name", std::string(task)}}).Increment();
}

void metrics::record_http_request(std::string_view route, std::string_view method, unsigned status,
                                  std::chrono::nanoseconds duration) {
  const prometheus::Labels labels{{"route", std::string(route)}, {"method", std::string(method)}};
  impl_->http_duration.Add(labels, http_buckets).Observe(seconds(duration));
  auto with_code = labels;
  with_code.emplace("code", std::to_string(status));
  impl_->http_requests.Add(with_code).Increment();
}

std::string metrics::render() const {
  const auto families = impl_->registry.Collect();
  std::string out;
  // A little over the last size: series come and go between scrapes.
  out.reserve(impl_->last_render_size.load(std::memory_order_relaxed) * 9 / 8);
  detail::write_text_exposition(families, out);
  impl_->last_render_size.store(out.size(), std::memory_order_relaxed);
  return out;
}

}  // namespace cascadence::adapters::metrics

#include "adapters/metrics/metrics.hpp"
#include "engine/builtin_processors.hpp"
#include "engine/graph.hpp"
#include "engine/processor.hpp"
#include "engine/runner.hpp"
#include "scheduling/cron_scheduler.hpp"
#include "tests/support/run_async.hpp"

#include <doctest/doctest.h>

#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

using namespace cascadence;
using cascadence::adapters::metrics::metrics;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

engine::graph example_graph() {
  engine::graph_builder b;
  (void)b.add({"example", engine::make_echo_processor("hello"), {}});
  (void)b.add({"broken",
               engine::make_async_processor([](engine::task_context&) -> asio::awaitable<engine::outcome> {
                 co_return engine::outcome::failure("boom");
               }),
               {}});
  const auto after = b.add({"after_broken", engine::make_noop_processor(), {}});
  b.add_dependency(after, "broken");
  auto r = std::move(b).build();
  REQUIRE(r.has_value());
  return std::move(r.value());
}

void run(metrics& m, const engine::graph& g, const std::vector<std::string>& targets) {
  std::vector<engine::task_id> ids;
  ids.reserve(targets.size());
  for (const auto& t : targets) ids.push_back(*g.find(t));
  engine::run_options options;
  options.observers.push_back(&m.engine_observer());
  (void)test::run_async(engine::run_graph(g, ids, std::move(options)));
}

std::vector<std::string> lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

bool has_line(const std::string& text, const std::string& line) {
  for (const auto& l : lines(text)) {
    if (l == line) return true;
  }
  return false;
}

bool has_prefix(const std::string& text, const std::string& prefix) {
  for (const auto& l : lines(text)) {
    if (l.starts_with(prefix)) return true;
  }
  return false;
}

// The series part of a sample line (name and labels), without the value.
std::string series_of(const std::string& line) {
  return line.substr(0, line.rfind(' '));
}

// Every sample series appears once; every histogram series has its +Inf
// bucket, _sum and _count (what Debian's promtool 2.42 does not check).
void check_exposition(const std::string& text) {
  std::set<std::string> seen;
  std::set<std::string> histograms;
  for (const auto& l : lines(text)) {
    if (l.starts_with("# TYPE ") && l.ends_with(" histogram")) {
      histograms.insert(l.substr(7, l.size() - 7 - 10));
    }
    if (l.empty() || l.starts_with('#')) continue;
    INFO("line: ", l);
    CHECK(seen.insert(series_of(l)).second);
  }
  for (const auto& h : histograms) {
    // The label sets of this histogram's _count series.
    for (const auto& s : seen) {
      const auto count_prefix = h + "_count";
      if (!s.starts_with(count_prefix)) continue;
      const auto labels = s.substr(count_prefix.size());  // "" or "{...}"
      INFO("histogram: ", s);
      std::string sum = h;
      sum.append("_sum").append(labels);
      CHECK(seen.contains(sum));
      std::string inf = h;
      inf.append("_bucket{");
      if (!labels.empty()) inf.append(labels, 1, labels.size() - 2).append(",");
      inf.append("le=\"+Inf\"}");
      CHECK(seen.contains(inf));
    }
  }
}

}  // namespace

TEST_CASE("a successful run counts a success and observes its latency" * doctest::timeout(10)) {
  metrics m;
  const auto g = example_graph();
  run(m, g, {"example"});
  const auto text = m.render();
  INFO(text);
  CHECK(has_line(text, "task_success_total{task_name=\"example\"} 1"));
  CHECK(has_line(text, "task_failure_total{task_name=\"example\"} 0"));
  CHECK(has_line(text, "task_latency_seconds_count{task_name=\"example\"} 1"));
  // prometheus-cpp writes the series' labels first, then `le`.
  CHECK(has_prefix(text, "task_latency_seconds_bucket{task_name=\"example\",le=\"0.005\"} "));
  CHECK(has_line(text, "task_latency_seconds_bucket{task_name=\"example\",le=\"+Inf\"} 1"));
  CHECK(has_prefix(text, "task_latency_seconds_sum{task_name=\"example\"} "));
  CHECK(has_line(text, "cascadence_task_runs_total{status=\"success\",task_name=\"example\"} 1"));
  CHECK(has_line(text, "cascadence_tasks_running{task_name=\"example\"} 0"));
  CHECK(has_prefix(text, "cascadence_task_last_success_timestamp_seconds{task_name=\"example\"} 1"));
  check_exposition(text);
}

TEST_CASE("a failed task counts a failure and its dependents a skipped run" * doctest::timeout(10)) {
  metrics m;
  const auto g = example_graph();
  run(m, g, {"after_broken"});
  run(m, g, {"example"});
  run(m, g, {"example"});
  const auto text = m.render();
  INFO(text);
  CHECK(has_line(text, "task_failure_total{task_name=\"broken\"} 1"));
  CHECK(has_line(text, "task_success_total{task_name=\"broken\"} 0"));
  CHECK(has_line(text, "task_success_total{task_name=\"example\"} 2"));
  CHECK(has_line(text, "cascadence_task_runs_total{status=\"failed\",task_name=\"broken\"} 1"));
  CHECK(has_line(text, "cascadence_task_runs_total{status=\"skipped\",task_name=\"after_broken\"} 1"));
  // A task that never started has no latency.
  CHECK_FALSE(has_prefix(text, "task_latency_seconds_count{task_name=\"after_broken\"}"));
  check_exposition(text);
}

TEST_CASE("scheduler events feed the schedule series" * doctest::timeout(10)) {
  metrics m;
  auto& o = m.scheduler_observer();
  const std::chrono::sys_seconds nominal{std::chrono::seconds(1'800'000'000)};
  o.on_fire("example", nominal, 3ms, engine::run_id{});
  o.on_fire("example", nominal + 60s, 200ms, engine::run_id{});
  o.on_skip("example", nominal, scheduling::skip_reason::overlap, 2);
  o.on_skip("example", nominal, scheduling::skip_reason::catchup_window, 5);
  o.on_skip("example", nominal, scheduling::skip_reason::paused, 1);
  o.on_next_fire("example", nominal + 120s);
  o.on_next_fire("other", nominal + 30s);
  const auto text = m.render();
  INFO(text);
  CHECK(has_line(text, "cascadence_schedule_fires_total{task_name=\"example\"} 2"));
  CHECK(has_line(text, "cascadence_schedule_skips_total{reason=\"overlap\",task_name=\"example\"} 2"));
  CHECK(has_line(text, "cascadence_schedule_skips_total{reason=\"catchup_window\",task_name=\"example\"} 5"));
  CHECK(has_line(text, "cascadence_schedule_skips_total{reason=\"paused\",task_name=\"example\"} 1"));
  CHECK(has_line(text, "cascadence_schedule_lateness_seconds_count{task_name=\"example\"} 2"));
  CHECK(has_line(text, "cascadence_schedule_lateness_seconds_bucket{task_name=\"example\",le=\"0.005\"} 1"));
  CHECK(has_line(text, "cascadence_schedule_lateness_seconds_bucket{task_name=\"example\",le=\"0.25\"} 2"));
  CHECK(has_line(text, "cascadence_schedule_next_fire_timestamp_seconds{task_name=\"example\"} 1800000120"));
  CHECK(has_line(text, "cascadence_schedule_next_fire_timestamp_seconds{task_name=\"other\"} 1800000030"));
  check_exposition(text);
}

TEST_CASE("a schedule that never fires again loses its next-fire series, and may get it back" * doctest::timeout(10)) {
  metrics m;
  auto& o = m.scheduler_observer();
  const std::chrono::sys_seconds nominal{std::chrono::seconds(1'800'000'000)};
  o.on_next_fire("example", nominal);
  o.on_next_fire("example", std::nullopt);
  CHECK_FALSE(has_prefix(m.render(), "cascadence_schedule_next_fire_timestamp_seconds{"));
  o.on_next_fire("example", std::nullopt);
  o.on_next_fire("example", nominal + 1s);
  o.on_next_fire("example", nominal + 2s);
  const auto text = m.render();
  CHECK(has_line(text, "cascadence_schedule_next_fire_timestamp_seconds{task_name=\"example\"} 1800000002"));
  check_exposition(text);
}

TEST_CASE("HTTP and webhook series carry their labels" * doctest::timeout(10)) {
  metrics m;
  m.record_http_request("/metrics", "GET", 200, 2ms);
  m.record_http_request("/metrics", "GET", 200, 3ms);
  m.record_http_request("/webhook/{source}", "POST", 401, 1ms);
  m.record_webhook_request("github", 202);
  m.record_webhook_delivery("github", "example");
  const auto text = m.render();
  INFO(text);
  CHECK(has_line(text, "cascadence_http_requests_total{code=\"200\",method=\"GET\",route=\"/metrics\"} 2"));
  CHECK(has_line(text, "cascadence_http_request_duration_seconds_count{method=\"GET\",route=\"/metrics\"} 2"));
  CHECK(has_line(text, "cascadence_webhook_requests_total{code=\"202\",source=\"github\"} 1"));
  CHECK(has_line(text, "cascadence_webhook_deliveries_total{source=\"github\",task_name=\"example\"} 1"));
  check_exposition(text);
}

TEST_CASE("a family without series is left out of the exposition" * doctest::timeout(10)) {
  metrics m;
  CHECK(m.render().empty());
  m.record_webhook_request("github", 202);
  const auto text = m.render();
  CHECK(has_line(text, "# TYPE cascadence_webhook_requests_total counter"));
  CHECK_FALSE(has_prefix(text, "# TYPE task_success_total"));
  check_exposition(text);
}

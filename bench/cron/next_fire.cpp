// Next-fire computations per second on one core, for a mix of expressions
// and zones, chaining each schedule's next fire from its previous one as a
// scheduler does.

#include "scheduling/next_fire.hpp"
#include "bench/scenario.hpp"
#include "bench/stopwatch.hpp"
#include "scheduling/cron_expression.hpp"
#include "scheduling/time_zone.hpp"

#include <array>
#include <stdexcept>
#include <string_view>
#include <vector>

namespace cascadence::bench {

namespace {
constexpr std::array<std::string_view, 12> expressions{
    "*/15 * * * *", "0 9 * * mon-fri", "30 2 * * *",       "0 0 13 * fri",     "@hourly",  "@daily",
    "0 0 29 2 *",   "*/5 * * * * *",   "10-50/10 * * * *", "0 12 1 jan,jul *", "@monthly", "45 23 * * 0"};
constexpr std::array<std::string_view, 4> zones{"UTC", "America/New_York", "Europe/Berlin", "Australia/Sydney"};
}  // namespace

scenario_result run_cron_next_fire(const bench_config& config) {
  struct job {
    scheduling::cron_expression expr;
    scheduling::time_zone zone;
    std::chrono::sys_seconds cursor;
  };
  std::vector<job> jobs;
  const auto start = std::chrono::sys_seconds(std::chrono::seconds(1'767'225'600));  // 2026-01-01T00:00:00Z
  for (auto e : expressions) {
    for (auto z : zones) {
      auto expr = scheduling::cron_expression::parse(e);
      auto zone = scheduling::time_zone::locate(z);
      jobs.push_back({std::move(expr).value(), std::move(zone).value(), start});
    }
  }
  // Chained long enough, yearly and monthly schedules run past any horizon;
  // a schedule past 2100 starts over, as if it were a new one.
  const auto horizon = std::chrono::sys_seconds(std::chrono::seconds(4'102'444'800));  // 2100-01-01T00:00:00Z
  const std::size_t total = config.cron_computations;
  std::size_t done = 0;
  const stopwatch watch;
  while (done < total) {
    for (auto& j : jobs) {
      auto next = scheduling::next_fire(j.expr, j.zone, j.cursor);
      if (!next) throw std::logic_error("a benchmark schedule stopped firing");
      j.cursor = *next < horizon ? *next : start;
    }
    done += jobs.size();
  }
  scenario_result r;
  r.scenario = "cron-next";
  r.tasks = done;
  r.seconds = watch.seconds();
  r.cpu_seconds = watch.cpu_seconds();
  return r;
}

}  // namespace cascadence::bench

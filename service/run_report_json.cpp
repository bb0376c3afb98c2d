#include "service/run_report_json.hpp"

#include "core/time_text.hpp"
#include "engine/graph.hpp"
#include "engine/runner.hpp"

#include <boost/json/array.hpp>

#include <algorithm>

namespace cascadence::service {

boost::json::object task_record_json(const engine::graph& g, const engine::task_record& r) {
  const bool started = r.status != engine::run_status::skipped || r.attempts > 0;
  const auto instant = [&](std::chrono::system_clock::time_point t) {
    return started ? boost::json::value(core::format_utc(t)) : boost::json::value(nullptr);
  };
  const auto name = g.name(r.task);
  return boost::json::object{
      {"name", name},
      {"task", name},
      {"run_id", r.id.to_string()},
      {"status", engine::to_string(r.status)},
      {"attempts", r.attempts},
      {"started", instant(r.started)},
      {"finished", instant(r.finished)},
      {"duration_ms", started ? std::chrono::duration<double, std::milli>(r.finished - r.started).count() : 0.0},
      {"output", r.output},
      {"error", r.error.empty() ? boost::json::value(nullptr) : boost::json::value(r.error)}};
}

std::string_view run_outcome(const engine::run_report& report) {
  if (report.succeeded() && !report.records.empty()) return "success";
  const bool cancelled = !report.cancel_reason.empty() ||
                         std::any_of(report.records.begin(), report.records.end(),
                                     [](const auto& r) { return r.status == engine::run_status::cancelled; });
  return cancelled ? "cancelled" : "failed";
}

boost::json::object run_report_json(const engine::graph& g, const engine::run_report& report, std::string_view status) {
  boost::json::array tasks;
  tasks.reserve(report.records.size());
  for (const auto& r : report.records) tasks.push_back(task_record_json(g, r));
  boost::json::object out{{"run_id", report.id.to_string()}, {"status", status}, {"tasks", std::move(tasks)}};
  // The hashed user id of a run started for someone (never the clear id).
  if (!report.records.empty() && !report.records.front().user_hash.empty()) {
    out["user_hash"] = report.records.front().user_hash;
  }
  return out;
}

}  // namespace cascadence::service

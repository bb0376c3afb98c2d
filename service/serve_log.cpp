#include "service/serve_log.hpp"

#include "core/text.hpp"
#include "core/time_text.hpp"
#include "engine/graph.hpp"
#include "engine/runner.hpp"
#include "scheduling/iso_time.hpp"

#include <cstdio>
#include <ctime>
#include <ostream>

namespace cascadence::service {

namespace {
std::string nominal_text(std::chrono::sys_seconds t) {
  return scheduling::format_iso8601(t, scheduling::time_zone::utc());
}
}  // namespace

std::ostream& serve_log::line() {
  return out_ << core::format_utc(std::chrono::system_clock::now()) << ' ';
}

void serve_log::info(std::string_view message) {
  line() << core::printable(message) << std::endl;
}

void serve_log::on_fire(const std::string& task, std::chrono::sys_seconds nominal, std::chrono::nanoseconds lateness,
                        const engine::run_id& run) {
  line() << "fire " << task << " nominal=" << nominal_text(nominal) << " run_id=" << run.to_string()
         << " lateness=" << core::format_seconds(lateness) << std::endl;
}

void serve_log::on_skip(const std::string& task, std::chrono::sys_seconds nominal, scheduling::skip_reason reason,
                        std::size_t count) {
  line() << "skip " << task << " nominal=" << nominal_text(nominal) << " reason=" << scheduling::to_string(reason)
         << " count=" << count << std::endl;
}

void serve_log::on_run_finished(const std::string& task, std::chrono::sys_seconds nominal,
                                const engine::run_report& report) {
  line() << "done " << task << " nominal=" << nominal_text(nominal) << " run_id=" << report.id.to_string()
         << " status=";
  if (report.records.empty() && !report.cancel_reason.empty()) {
    // Nothing ran (the task is disabled): not a success.
    out_ << "skipped reason=\"" << core::printable(report.cancel_reason) << '"' << std::endl;
    return;
  }
  out_ << (report.succeeded() ? "success" : !report.cancel_reason.empty() ? "cancelled" : "failed") << std::endl;
}

void serve_log::on_error(std::string_view message) {
  line() << "error " << core::printable(message) << std::endl;
}

void serve_log::on_task_output(const engine::graph& g, const engine::task_record& record, engine::output_stream stream,
                               std::string_view text) {
  line() << g.name(record.task) << (stream == engine::output_stream::out ? " | " : " ! ") << core::printable(text)
         << std::endl;
}

void serve_log::on_task_finished(const engine::graph& g, const engine::task_record& record) {
  line() << "task " << g.name(record.task) << ' ' << engine::to_string(record.status) << " in "
         << core::format_seconds(record.finished - record.started) << " run_id=" << record.id.to_string();
  if (!record.error.empty()) out_ << " error=\"" << core::printable(record.error) << '"';
  out_ << std::endl;
}

}  // namespace cascadence::service

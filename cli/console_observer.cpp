#include "cli/console_observer.hpp"

#include "core/time_text.hpp"
#include "engine/graph.hpp"
#include "engine/runner.hpp"

#include <cstdio>
#include <ctime>
#include <ostream>

namespace cascadence::cli {

console_observer::console_observer(std::ostream& output, std::ostream& progress, bool live)
    : output_(output), progress_(progress), live_(live) {}

void console_observer::on_run_started(const engine::graph&, const engine::run_id&, std::size_t tasks) {
  total_ = tasks;
  prefix_ = tasks > 1;
  started_ = std::chrono::steady_clock::now();
  draw_live();
}

void console_observer::on_task_started(const engine::graph& g, const engine::task_record& record, unsigned attempt) {
  running_.emplace(g.name(record.task));
  if (attempt > 1) {
    clear_live();
    const auto& retry = g.settings(record.task).retry;
    progress_ << "task " << g.name(record.task) << ": retrying (attempt " << attempt << " of " << retry.retries + 1
              << ")\n";
  }
  draw_live();
}

void console_observer::on_task_output(const engine::graph& g, const engine::task_record& record,
                                      engine::output_stream stream, std::string_view line) {
  clear_live();
  auto& os = stream == engine::output_stream::out ? output_ : progress_;
  if (prefix_) os << g.name(record.task) << " | ";
  os << line << '\n';
  os.flush();
  draw_live();
}

void console_observer::on_task_finished(const engine::graph& g, const engine::task_record& record) {
  const auto name = std::string(g.name(record.task));
  running_.erase(name);
  ++settled_;
  ++counts_[static_cast<std::size_t>(record.status)];
  clear_live();
  progress_ << "task " << name << ": " << engine::to_string(record.status);
  if (record.status != engine::run_status::skipped) {
    progress_ << " in " << core::format_seconds(record.finished - record.started);
    if (record.attempts > 1) progress_ << " after " << record.attempts << " attempts";
  }
  if (!record.error.empty()) progress_ << " (" << record.error << ")";
  progress_ << '\n';
  progress_.flush();
  draw_live();
}

void console_observer::on_run_finished(const engine::graph&, const engine::run_id&) {
  clear_live();
  if (total_ <= 1) return;
  progress_ << "run: ";
  bool first = true;
  for (std::size_t i = 0; i < 5; ++i) {
    if (counts_[i] == 0) continue;
    progress_ << (first ? "" : ", ") << counts_[i] << ' ' << engine::to_string(static_cast<engine::run_status>(i));
    first = false;
  }
  progress_ << " in " << core::format_seconds(std::chrono::steady_clock::now() - started_) << '\n';
  progress_.flush();
}

void console_observer::clear_live() {
  if (live_) progress_ << "\r\x1b[K";
}

void console_observer::draw_live() {
  if (!live_) return;
  progress_ << "[" << settled_ << "/" << total_ << "] ";
  if (!running_.empty()) {
    progress_ << "running:";
    std::size_t shown = 0;
    for (const auto& name : running_) {
      if (++shown > 5) {
        progress_ << " +" << running_.size() - 5;
        break;
      }
      progress_ << ' ' << name;
    }
  }
  progress_.flush();
}

}  // namespace cascadence::cli

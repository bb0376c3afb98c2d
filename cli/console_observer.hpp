#pragma once

#include "engine/observer.hpp"

#include <chrono>
#include <cstddef>
#include <iosfwd>
#include <set>
#include <string>

namespace cascadence::cli {

/// Shows a graph run to a person: task output as it comes (prefixed with
/// the task's name when several tasks run), one line per settled task with
/// status and duration, and a live summary line when `progress` is a
/// terminal.
class console_observer final : public engine::observer {
 public:
  /// `output` receives the tasks' standard output, `progress` everything else.
  console_observer(std::ostream& output, std::ostream& progress, bool live);

  void on_run_started(const engine::graph& g, const engine::run_id& run, std::size_t tasks) override;
  void on_task_started(const engine::graph& g, const engine::task_record& record, unsigned attempt) override;
  void on_task_output(const engine::graph& g, const engine::task_record& record, engine::output_stream stream,
                      std::string_view line) override;
  void on_task_finished(const engine::graph& g, const engine::task_record& record) override;
  void on_run_finished(const engine::graph& g, const engine::run_id& run) override;

 private:
  void clear_live();
  void draw_live();

  std::ostream& output_;
  std::ostream& progress_;
  bool live_;
  bool prefix_ = false;
  std::size_t total_ = 0;
  std::size_t settled_ = 0;
  std::size_t counts_[5] = {};
  std::set<std::string> running_;
  std::chrono::steady_clock::time_point started_;
};

}  // namespace cascadence::cli

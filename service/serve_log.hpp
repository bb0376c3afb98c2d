#pragma once

#include "engine/observer.hpp"
#include "scheduling/cron_scheduler.hpp"

#include <iosfwd>
#include <string>
#include <string_view>

namespace cascadence::service {

/// The log of `task serve`: one timestamped line per fire, skip, task
/// output line and finished task, so an operator can follow and grep it.
class serve_log final : public engine::observer, public scheduling::scheduler_observer {
 public:
  explicit serve_log(std::ostream& out) : out_(out) {}

  /// A free-form line (start, reload, shutdown).
  void info(std::string_view message);

  void on_fire(const std::string& task, std::chrono::sys_seconds nominal, std::chrono::nanoseconds lateness,
               const engine::run_id& run) override;
  void on_skip(const std::string& task, std::chrono::sys_seconds nominal, scheduling::skip_reason reason,
               std::size_t count) override;
  using engine::observer::on_run_finished;  // both bases name one; keep the engine's visible too
  void on_run_finished(const std::string& task, std::chrono::sys_seconds nominal,
                       const engine::run_report& report) override;
  void on_error(std::string_view message) override;

  void on_task_output(const engine::graph& g, const engine::task_record& record, engine::output_stream stream,
                      std::string_view line) override;
  void on_task_finished(const engine::graph& g, const engine::task_record& record) override;

 private:
  std::ostream& line();
  std::ostream& out_;
};

}  // namespace cascadence::service

#pragma once

#include "scheduling/cron_scheduler.hpp"

#include <initializer_list>
#include <vector>

namespace cascadence::scheduling {

/// Hands every scheduler event to several observers, in order (the
/// scheduler takes one observer pointer; `task serve` logs and counts).
/// The observers are not owned and must outlive it.
class scheduler_observer_fan_out final : public scheduler_observer {
 public:
  scheduler_observer_fan_out(std::initializer_list<scheduler_observer*> observers) : observers_(observers) {}

  void on_fire(const std::string& task, std::chrono::sys_seconds nominal, std::chrono::nanoseconds lateness,
               const engine::run_id& run) override {
    for (auto* o : observers_) o->on_fire(task, nominal, lateness, run);
  }
  void on_skip(const std::string& task, std::chrono::sys_seconds nominal, skip_reason reason,
               std::size_t count) override {
    for (auto* o : observers_) o->on_skip(task, nominal, reason, count);
  }
  void on_run_finished(const std::string& task, std::chrono::sys_seconds nominal,
                       const engine::run_report& report) override {
    for (auto* o : observers_) o->on_run_finished(task, nominal, report);
  }
  void on_next_fire(const std::string& task, std::optional<std::chrono::sys_seconds> next) override {
    for (auto* o : observers_) o->on_next_fire(task, next);
  }
  void on_error(std::string_view message) override {
    for (auto* o : observers_) o->on_error(message);
  }

 private:
  std::vector<scheduler_observer*> observers_;
};

}  // namespace cascadence::scheduling

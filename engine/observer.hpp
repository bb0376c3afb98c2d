#pragma once

#include "engine/processor.hpp"
#include "engine/run_status.hpp"

#include <chrono>
#include <cstdint>
#include <string_view>

namespace cascadence::engine {

struct task_record;
class graph;

/// Receives run events. Called on the engine's executor, in order, never
/// concurrently for one run. Implementations must not block: metrics, events,
/// logs and progress display are observers.
class observer {
 public:
  virtual ~observer() = default;
  /// A graph run started with `tasks` tasks to settle.
  virtual void on_run_started(const graph& g, const run_id& run, std::size_t tasks) { (void)g, (void)run, (void)tasks; }
  /// A task's attempt `attempt` is starting.
  virtual void on_task_started(const graph& g, const task_record& record, unsigned attempt) {
    (void)g, (void)record, (void)attempt;
  }
  /// A line a running task wrote.
  virtual void on_task_output(const graph& g, const task_record& record, output_stream stream, std::string_view line) {
    (void)g, (void)record, (void)stream, (void)line;
  }
  /// A task settled (any status, including skipped).
  virtual void on_task_finished(const graph& g, const task_record& record) { (void)g, (void)record; }
  /// Every task settled.
  virtual void on_run_finished(const graph& g, const run_id& run) { (void)g, (void)run; }
};

}  // namespace cascadence::engine

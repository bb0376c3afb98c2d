#pragma once

#include "engine/run_id.hpp"
#include "scheduling/clock.hpp"
#include "scheduling/cron_expression.hpp"
#include "scheduling/fire_state_store.hpp"
#include "scheduling/schedule.hpp"
#include "scheduling/time_zone.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace boost::asio {
class thread_pool;
}

namespace cascadence::engine {
struct run_report;
class run_canceller;
}  // namespace cascadence::engine

namespace cascadence::scheduling {

/// Why a nominal fire did not start a run.
enum class skip_reason : std::uint8_t { overlap, catchup_window, paused };

[[nodiscard]] std::string_view to_string(skip_reason reason) noexcept;

/// Receives what the scheduler does, on the scheduler's executor. Metrics
/// and logs are observers.
class scheduler_observer {
 public:
  virtual ~scheduler_observer() = default;
  /// A run starts for the fire at `nominal`; `lateness` is the actual start
  /// minus the intended one (nominal plus jitter).
  virtual void on_fire(const std::string& task, std::chrono::sys_seconds nominal, std::chrono::nanoseconds lateness,
                       const engine::run_id& run) {
    (void)task, (void)nominal, (void)lateness, (void)run;
  }
  /// `count` fires up to `nominal` did not start a run.
  virtual void on_skip(const std::string& task, std::chrono::sys_seconds nominal, skip_reason reason,
                       std::size_t count) {
    (void)task, (void)nominal, (void)reason, (void)count;
  }
  /// The run of a fire settled.
  virtual void on_run_finished(const std::string& task, std::chrono::sys_seconds nominal,
                               const engine::run_report& report) {
    (void)task, (void)nominal, (void)report;
  }
  /// The schedule's next nominal fire (nullopt: it never fires again).
  virtual void on_next_fire(const std::string& task, std::optional<std::chrono::sys_seconds> next) {
    (void)task, (void)next;
  }
  /// Something went wrong that the scheduler survived (a state file that
  /// could not be written).
  virtual void on_error(std::string_view message) { (void)message; }
};

/// How a fire's run ended: its report, or the exception that kept it from
/// running (the report is then empty).
using fire_done = std::function<void(std::exception_ptr error, engine::run_report report)>;

/// Starts the run of a fire: the scheduler says which task, with which run
/// id, and hands a canceller its overlap policy and shutdown may use (it
/// lives until `done` is called). Calls `done` exactly once, on the
/// scheduler's executor and not from inside this call; may instead throw if
/// the run cannot start. A callback rather than a coroutine: a scheduler
/// firing thousands of schedules at one instant pays for no frames.
using fire_function =
    std::function<void(const std::string& task, engine::run_id id, engine::run_canceller& canceller, fire_done done)>;

/// A schedule ready to run: the persisted entry with its expression parsed
/// and its zone located.
struct active_schedule final {
  schedule_entry entry;
  cron_expression expression;
  time_zone zone;
};

/// How a cron_scheduler is built, beyond what it fires and where it reports.
struct cron_scheduler_options final {
  /// With a pool, each fire is persisted atomically against the process
  /// being killed before its run starts, and made durable against a machine
  /// crash (fsync) on the pool right after, off the fire's path; without
  /// one the fsync happens before the run starts (about 10 ms on ordinary
  /// disks, added to every fire's lateness).
  boost::asio::thread_pool* sync_pool = nullptr;
  /// The time it reads and waits for; it must outlive the scheduler and its
  /// pending handlers. Null: system_clock().
  scheduling::clock* clock = nullptr;
  /// Seed of the random jitter delays; nullopt: a random seed.
  std::optional<std::uint64_t> jitter_seed;
};

/// Fires cron schedules on one executor: every schedule waits in one heap
/// behind one timer, nothing polled, so an idle scheduler costs nothing
/// between fires, and the schedules due at one instant fire as a batch with
/// one write of the fire state. Each fire gets a
/// deterministic run id (task name + nominal UTC time); the nominal time is
/// persisted before the run starts, so a restart never fires an instant
/// twice, and fires missed while down are caught up once within each
/// schedule's catch-up window. Not thread-safe: use it on its executor.
class cron_scheduler final {
 public:
  /// On the system clock; `sync_pool` as in cron_scheduler_options.
  cron_scheduler(boost::asio::any_io_executor ex, fire_function fire, fire_state_store state,
                 scheduler_observer* observer, boost::asio::thread_pool* sync_pool = nullptr);
  cron_scheduler(boost::asio::any_io_executor ex, fire_function fire, fire_state_store state,
                 scheduler_observer* observer, cron_scheduler_options options);
  ~cron_scheduler();
  cron_scheduler(const cron_scheduler&) = delete;
  cron_scheduler& operator=(const cron_scheduler&) = delete;

  /// Installs the schedule set (at start and on reload). A schedule whose
  /// entry did not change keeps its timer; a changed or removed one stops
  /// firing; runs already going continue either way.
  void apply(std::vector<active_schedule> schedules);

  /// Stops every schedule from firing; runs continue.
  void stop_firing();

  /// Waits up to `grace` for running fires to finish, then cancels the rest
  /// with `reason` and waits for them to settle.
  [[nodiscard]] boost::asio::awaitable<void> drain(std::chrono::milliseconds grace, std::string reason);

  /// Cancels every running fire now with `reason` (a second SIGINT during
  /// drain()); drain() then returns as soon as they have settled.
  void cancel_running(const std::string& reason);

  /// Runs in flight now.
  [[nodiscard]] std::size_t running() const noexcept;

  /// The run id of the fire of `task` at `nominal`.
  [[nodiscard]] static engine::run_id fire_id(std::string_view task, std::chrono::sys_seconds nominal);

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace cascadence::scheduling

#include "scheduling/cron_scheduler.hpp"

#include "engine/runner.hpp"
#include "scheduling/fire_state_store.hpp"
#include "scheduling/iso_time.hpp"
#include "scheduling/testing/manual_clock.hpp"

#include <doctest/doctest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include <unistd.h>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

// Every case runs on a manual clock: time moves only when the test says, and
// the scheduler's timers fire as it passes their expiry. Fires go to a fake
// fire function whose runs end when the test ends them.

using namespace cascadence::scheduling;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using cascadence::engine::run_id;
using cascadence::scheduling::testing::manual_clock;
using std::chrono::sys_seconds;
using time_point = std::chrono::system_clock::time_point;

namespace {

sys_seconds instant(std::string_view iso) {
  auto r = parse_iso8601(iso, time_zone::utc());
  REQUIRE(r.has_value());
  return r.value();
}

// 10:00 + n minutes on the day the cases run; they start at 10:00:30.
sys_seconds minute(int n) {
  return instant("2026-03-02T10:00:00Z") + std::chrono::minutes(n);
}

active_schedule schedule(std::string task, std::string expr, schedule_policy policy = {}, bool paused = false,
                         std::string_view zone_name = "UTC") {
  auto parsed = cron_expression::parse(expr);
  REQUIRE(parsed.has_value());
  auto zone = time_zone::locate(zone_name);
  REQUIRE(zone.has_value());
  schedule_entry e;
  e.task = std::move(task);
  e.expression = std::move(expr);
  e.timezone = zone_name == "UTC" ? "" : std::string(zone_name);
  e.policy = policy;
  e.paused = paused;
  return {std::move(e), std::move(parsed).value(), zone.value()};
}

schedule_policy overlap(overlap_policy p) {
  schedule_policy policy;
  policy.overlap = p;
  return policy;
}

struct scratch {
  scratch() {
    auto templ = (std::filesystem::temp_directory_path() / "cascadence-cron-XXXXXX").string();
    dir = ::mkdtemp(templ.data());
  }
  ~scratch() { std::filesystem::remove_all(dir); }
  scratch(const scratch&) = delete;
  scratch& operator=(const scratch&) = delete;
  std::filesystem::path dir;
};

struct fire_seen {
  std::string task;
  sys_seconds nominal;
  std::chrono::nanoseconds lateness;
  run_id id;
};

struct skip_seen {
  std::string task;
  sys_seconds nominal;
  skip_reason reason;
  std::size_t count;
  friend bool operator==(const skip_seen&, const skip_seen&) = default;
};

struct recorder final : scheduler_observer {
  std::vector<fire_seen> fires;
  std::vector<skip_seen> skips;
  std::vector<std::pair<std::string, sys_seconds>> finished;
  std::map<std::string, std::optional<sys_seconds>> next;
  std::vector<std::string> errors;

  void on_fire(const std::string& task, sys_seconds nominal, std::chrono::nanoseconds lateness,
               const run_id& id) override {
    fires.push_back({task, nominal, lateness, id});
  }
  void on_skip(const std::string& task, sys_seconds nominal, skip_reason reason, std::size_t count) override {
    skips.push_back({task, nominal, reason, count});
  }
  void on_run_finished(const std::string& task, sys_seconds nominal, const cascadence::engine::run_report&) override {
    finished.emplace_back(task, nominal);
  }
  void on_next_fire(const std::string& task, std::optional<sys_seconds> at) override { next[task] = at; }
  void on_error(std::string_view message) override { errors.emplace_back(message); }
};

// A run the scheduler started through the fake fire function.
struct fake_run {
  std::string task;
  run_id id;
  cascadence::engine::run_canceller* canceller;
  fire_done done;
  time_point started;
  bool ended = false;
  std::optional<std::string> cancelled_with;  // once ended: the canceller died with the run

  [[nodiscard]] bool cancelled() const { return ended ? cancelled_with.has_value() : canceller->requested(); }
  [[nodiscard]] std::string reason() const { return ended ? cancelled_with.value_or("") : canceller->reason(); }
};

struct fixture {
  // `sync_threads`: fsync the fire state on a pool of that many threads.
  explicit fixture(std::size_t sync_threads = 0, std::uint64_t seed = 1) : seed_(seed) {
    if (sync_threads != 0) pool.emplace(sync_threads);
    start();
  }

  ~fixture() {
    for (auto& r : runs) {
      if (!r->ended) end(*r);
    }
    scheduler.reset();
    settle();
    if (pool) {
      // A sync in flight posts its completion to the loop, which may ask for
      // another: stop the pool first, so what is queued is dropped with it
      // while the loop and the clock still exist.
      pool->stop();
      pool->join();
      settle();
      pool.reset();
      settle();
    }
  }
  fixture(const fixture&) = delete;
  fixture& operator=(const fixture&) = delete;

  [[nodiscard]] std::filesystem::path state_file() const { return dir.dir / "fire-state.yml"; }

  // A new scheduler on the fire state the previous one left (a restart).
  void start(std::optional<std::filesystem::path> state = std::nullopt) {
    scheduler.emplace(
        io.get_executor(),
        [this](const std::string& task, run_id id, cascadence::engine::run_canceller& c, fire_done done) {
          if (before_start) before_start(task);
          runs.push_back(
              std::make_unique<fake_run>(fake_run{task, id, &c, std::move(done), clock.now(), false, std::nullopt}));
        },
        fire_state_store(state ? *state : state_file()), &obs,
        cron_scheduler_options{.sync_pool = pool ? &*pool : nullptr, .clock = &clock, .jitter_seed = seed_});
  }

  void restart() {
    scheduler.reset();
    settle();
    start();
  }

  void apply(std::vector<active_schedule> schedules) {
    scheduler->apply(std::move(schedules));
    settle();
  }

  // Runs what is ready on the loop.
  void settle() {
    io.restart();
    io.poll();
  }

  // Moves time to `t` expiry by expiry, letting the loop react at each.
  void advance_to(time_point t) {
    settle();
    for (int steps = 0;; ++steps) {
      REQUIRE(steps < 100'000);
      const auto e = clock.next_expiry();
      if (!e || *e > t) break;
      clock.set(std::max(*e, clock.now()));
      settle();
    }
    clock.set(t);
    settle();
  }
  void advance(std::chrono::system_clock::duration d) { advance_to(clock.now() + d); }

  // Time jumps at once (a suspended machine, a stalled loop).
  void jump_to(time_point t) {
    clock.set(t);
    settle();
  }

  void end(fake_run& r) {
    REQUIRE_FALSE(r.ended);
    cascadence::engine::run_report report;
    report.id = r.id;
    if (r.cancelled()) report.cancel_reason = r.cancelled_with.emplace(r.reason());
    r.ended = true;
    auto done = std::move(r.done);
    done(nullptr, std::move(report));
    settle();
  }

  // The index-th run of `task`.
  fake_run& run_of(std::string_view task, std::size_t index = 0) {
    for (auto& r : runs) {
      if (r->task == task && index-- == 0) return *r;
    }
    FAIL("no such run of " << task);
    throw std::logic_error("unreachable");
  }

  [[nodiscard]] std::vector<sys_seconds> nominals() const {
    std::vector<sys_seconds> out;
    for (const auto& f : obs.fires) out.push_back(f.nominal);
    return out;
  }

  scratch dir;
  manual_clock clock{minute(0) + 30s};
  asio::io_context io;
  recorder obs;
  std::function<void(const std::string&)> before_start;
  std::vector<std::unique_ptr<fake_run>> runs;
  std::optional<asio::thread_pool> pool;
  std::uint64_t seed_;
  std::optional<cron_scheduler> scheduler;
};

// Starts drain() on the loop; the flag says when it returned.
std::shared_ptr<bool> start_drain(fixture& f, std::chrono::milliseconds grace, std::string reason) {
  auto done = std::make_shared<bool>(false);
  asio::co_spawn(f.io, f.scheduler->drain(grace, std::move(reason)), [done](std::exception_ptr e) {
    if (e) std::rethrow_exception(e);
    *done = true;
  });
  f.settle();
  return done;
}

std::vector<std::chrono::milliseconds> jitter_delays(std::uint64_t seed) {
  fixture f(0, seed);
  auto policy = overlap(overlap_policy::allow_all);
  policy.jitter = 20s;
  f.apply({schedule("tick", "* * * * *", policy)});
  f.advance_to(minute(50) + 30s);
  std::vector<std::chrono::milliseconds> out;
  for (std::size_t i = 0; i < f.runs.size(); ++i) {
    out.push_back(std::chrono::duration_cast<std::chrono::milliseconds>(f.runs[i]->started - f.obs.fires[i].nominal));
  }
  return out;
}

}  // namespace

TEST_CASE("each fire starts at its nominal instant with a run id derived from the task and the instant" *
          doctest::timeout(10)) {
  fixture f;
  f.apply({schedule("tick", "* * * * *")});
  CHECK(f.runs.empty());
  CHECK(f.obs.next.at("tick") == minute(1));
  for (int i = 1; i <= 3; ++i) {
    f.advance_to(minute(i) - 1ms);
    CHECK(f.runs.size() == static_cast<std::size_t>(i - 1));
    f.advance_to(minute(i));
    REQUIRE(f.runs.size() == static_cast<std::size_t>(i));
    const auto& run = *f.runs.back();
    CHECK(run.task == "tick");
    CHECK(run.started == minute(i));
    CHECK(run.id == cron_scheduler::fire_id("tick", minute(i)));
    CHECK(f.obs.fires.back().nominal == minute(i));
    CHECK(f.obs.fires.back().lateness == 0ns);
    CHECK(f.obs.next.at("tick") == minute(i + 1));
    f.end(*f.runs.back());
  }
  CHECK(f.obs.finished.size() == 3);
  CHECK(f.obs.skips.empty());
  CHECK(f.obs.errors.empty());
}

TEST_CASE("a fire's nominal time is in the fire state before its run starts" * doctest::timeout(10)) {
  fixture f;
  std::optional<sys_seconds> persisted;
  f.before_start = [&](const std::string& task) { persisted = fire_state_store(f.state_file()).load().at(task); };
  f.apply({schedule("tick", "* * * * *")});
  f.advance_to(minute(1));
  REQUIRE(f.runs.size() == 1);
  CHECK(persisted == minute(1));
}

TEST_CASE("under skip a fire while the previous run is going is skipped and counted" * doctest::timeout(10)) {
  fixture f;
  f.apply({schedule("tick", "* * * * *")});
  f.advance_to(minute(1));
  REQUIRE(f.runs.size() == 1);
  f.advance_to(minute(3));
  CHECK(f.runs.size() == 1);
  CHECK(f.obs.skips == std::vector<skip_seen>{{"tick", minute(2), skip_reason::overlap, 1},
                                              {"tick", minute(3), skip_reason::overlap, 1}});
  f.end(*f.runs[0]);
  CHECK(f.runs.size() == 1);  // nothing waited behind it
  f.advance_to(minute(4));
  REQUIRE(f.runs.size() == 2);
  CHECK(f.runs[1]->id == cron_scheduler::fire_id("tick", minute(4)));
}

TEST_CASE("under buffer_one one fire waits for the running one and starts when it ends; more are skipped" *
          doctest::timeout(10)) {
  fixture f;
  f.apply({schedule("tick", "* * * * *", overlap(overlap_policy::buffer_one))});
  f.advance_to(minute(3));
  REQUIRE(f.runs.size() == 1);
  CHECK(f.obs.skips == std::vector<skip_seen>{{"tick", minute(3), skip_reason::overlap, 1}});
  f.advance(10s);
  f.end(*f.runs[0]);
  REQUIRE(f.runs.size() == 2);
  CHECK(f.runs[1]->id == cron_scheduler::fire_id("tick", minute(2)));
  CHECK(f.runs[1]->started == minute(3) + 10s);
  CHECK(f.obs.fires[1].nominal == minute(2));
  CHECK(f.obs.fires[1].lateness == 70s);
  f.end(*f.runs[1]);
  CHECK(f.runs.size() == 2);
  CHECK(f.scheduler->running() == 0);
}

TEST_CASE("under buffer_all every fire that came during the run runs after it, one at a time, in order" *
          doctest::timeout(10)) {
  fixture f;
  f.apply({schedule("tick", "* * * * *", overlap(overlap_policy::buffer_all))});
  f.advance_to(minute(4));
  REQUIRE(f.runs.size() == 1);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(f.scheduler->running() == 1);
    f.end(*f.runs[i]);
    REQUIRE(f.runs.size() == i + 2);
  }
  f.end(*f.runs[3]);
  CHECK(f.runs.size() == 4);
  CHECK(f.nominals() == std::vector<sys_seconds>{minute(1), minute(2), minute(3), minute(4)});
  for (std::size_t i = 0; i < 4; ++i) CHECK(f.runs[i]->id == cron_scheduler::fire_id("tick", f.nominals()[i]));
  CHECK(f.obs.skips.empty());
}

TEST_CASE("under cancel_other a fire cancels the running one with a reason and starts once it has settled" *
          doctest::timeout(10)) {
  fixture f;
  f.apply({schedule("tick", "* * * * *", overlap(overlap_policy::cancel_other))});
  f.advance_to(minute(1));
  REQUIRE(f.runs.size() == 1);
  CHECK_FALSE(f.runs[0]->cancelled());
  f.advance_to(minute(2));
  CHECK(f.runs[0]->cancelled());
  CHECK(f.runs[0]->reason() == "replaced by the fire at 2026-03-02T10:02:00+00:00");
  CHECK(f.runs.size() == 1);  // not before the cancelled run has settled
  f.advance(2s);
  f.end(*f.runs[0]);
  REQUIRE(f.runs.size() == 2);
  CHECK(f.runs[1]->id == cron_scheduler::fire_id("tick", minute(2)));
  CHECK_FALSE(f.runs[1]->cancelled());
  CHECK(f.obs.skips.empty());
}

TEST_CASE("under cancel_other a newer fire takes the place of the one waiting, which is skipped" *
          doctest::timeout(10)) {
  fixture f;
  f.apply({schedule("tick", "* * * * *", overlap(overlap_policy::cancel_other))});
  f.advance_to(minute(3));  // the run of 10:01 ignores its cancellation for a while
  REQUIRE(f.runs.size() == 1);
  CHECK(f.obs.skips == std::vector<skip_seen>{{"tick", minute(2), skip_reason::overlap, 1}});
  f.end(*f.runs[0]);
  REQUIRE(f.runs.size() == 2);
  CHECK(f.runs[1]->id == cron_scheduler::fire_id("tick", minute(3)));
}

TEST_CASE("under allow_all fires start while earlier runs are still going" * doctest::timeout(10)) {
  fixture f;
  f.apply({schedule("tick", "* * * * *", overlap(overlap_policy::allow_all))});
  f.advance_to(minute(3));
  REQUIRE(f.runs.size() == 3);
  CHECK(f.scheduler->running() == 3);
  for (const auto& r : f.runs) CHECK_FALSE(r->cancelled());
  CHECK(f.obs.skips.empty());
  for (auto& r : f.runs) f.end(*r);
  CHECK(f.scheduler->running() == 0);
  CHECK(f.obs.finished.size() == 3);
}

TEST_CASE("overlap is judged per task: another task's run does not hold a schedule back" * doctest::timeout(10)) {
  fixture f;
  f.apply({schedule("a", "* * * * *"), schedule("b", "* * * * *")});
  f.advance_to(minute(1));
  REQUIRE(f.runs.size() == 2);
  f.end(f.run_of("b"));  // a goes on
  f.advance_to(minute(2));
  REQUIRE(f.runs.size() == 3);
  CHECK(f.runs[2]->task == "b");
  CHECK(f.obs.skips == std::vector<skip_seen>{{"a", minute(2), skip_reason::overlap, 1}});
}

TEST_CASE("after downtime the latest missed fire younger than the window runs once and the others are counted" *
          doctest::timeout(10)) {
  fixture f;
  schedule_policy policy;
  policy.catchup_window = 5min;
  f.apply({schedule("tick", "* * * * *", policy)});
  f.advance_to(minute(1));
  f.end(*f.runs[0]);
  f.scheduler.reset();  // down from 10:01 to 10:04:30
  f.clock.set(minute(4) + 30s);
  f.start();
  f.apply({schedule("tick", "* * * * *", policy)});
  REQUIRE(f.runs.size() == 2);
  CHECK(f.runs[1]->id == cron_scheduler::fire_id("tick", minute(4)));
  CHECK(f.runs[1]->started == minute(4) + 30s);
  CHECK(f.obs.fires.back().lateness == 30s);
  CHECK(f.obs.skips == std::vector<skip_seen>{{"tick", minute(4), skip_reason::catchup_window, 2}});
  f.end(*f.runs[1]);
  f.advance_to(minute(5));
  REQUIRE(f.runs.size() == 3);
  CHECK(f.runs[2]->id == cron_scheduler::fire_id("tick", minute(5)));
}

TEST_CASE("after downtime longer than the window every missed fire is counted and none runs" * doctest::timeout(10)) {
  fixture f;
  schedule_policy policy;
  policy.catchup_window = 20s;
  f.apply({schedule("tick", "* * * * *", policy)});
  f.advance_to(minute(1));
  f.end(*f.runs[0]);
  f.scheduler.reset();
  f.clock.set(minute(10) + 30s);
  f.start();
  f.apply({schedule("tick", "* * * * *", policy)});
  CHECK(f.runs.size() == 1);
  CHECK(f.obs.skips == std::vector<skip_seen>{{"tick", minute(10), skip_reason::catchup_window, 9}});
  f.advance_to(minute(11));
  REQUIRE(f.runs.size() == 2);
  CHECK(f.runs[1]->id == cron_scheduler::fire_id("tick", minute(11)));
}

TEST_CASE("a wake-up later than the window is caught up like downtime" * doctest::timeout(10)) {
  fixture f;
  schedule_policy policy;
  policy.catchup_window = 20s;
  f.apply({schedule("tick", "* * * * *", policy)});
  f.advance_to(minute(1));
  f.end(*f.runs[0]);
  f.jump_to(minute(4) + 30s);  // the loop stalled through 10:02, 10:03 and 10:04
  CHECK(f.runs.size() == 1);
  CHECK(f.obs.skips == std::vector<skip_seen>{{"tick", minute(4), skip_reason::catchup_window, 3}});
  f.advance_to(minute(5));
  CHECK(f.runs.size() == 2);
}

TEST_CASE("a late wake-up within the window fires the instant it woke for, late" * doctest::timeout(10)) {
  fixture f;
  f.apply({schedule("tick", "* * * * *")});
  f.jump_to(minute(1) + 30s);
  REQUIRE(f.runs.size() == 1);
  CHECK(f.runs[0]->id == cron_scheduler::fire_id("tick", minute(1)));
  CHECK(f.obs.fires[0].lateness == 30s);
  CHECK(f.obs.skips.empty());
}

TEST_CASE("a late wake-up over several instants runs only the latest and counts the others" * doctest::timeout(10)) {
  fixture f;
  f.apply({schedule("tick", "*/10 * * * * *")});
  f.advance_to(minute(0) + 40s);
  REQUIRE(f.runs.size() == 1);
  f.end(*f.runs[0]);
  f.jump_to(minute(1) + 15s);  // 10:00:50, 10:01:00 and 10:01:10 passed
  REQUIRE(f.runs.size() == 2);
  CHECK(f.runs[1]->id == cron_scheduler::fire_id("tick", minute(1) + 10s));
  CHECK(f.obs.skips == std::vector<skip_seen>{{"tick", minute(1) + 10s, skip_reason::catchup_window, 2}});
  f.end(*f.runs[1]);
  f.advance_to(minute(1) + 20s);
  REQUIRE(f.runs.size() == 3);
  CHECK(f.obs.fires[2].lateness == 0ns);
}

TEST_CASE("jitter delays a fire by at most the jitter, never before its nominal time" * doctest::timeout(20)) {
  const auto delays = jitter_delays(1);
  REQUIRE(delays.size() == 50);
  for (const auto d : delays) {
    CHECK(d >= 0ms);
    CHECK(d <= 20s);
  }
  // Spread over the range, not stuck at one end.
  CHECK(*std::max_element(delays.begin(), delays.end()) >= 15s);
  CHECK(*std::min_element(delays.begin(), delays.end()) <= 5s);
}

TEST_CASE("jitter never delays a fire to or past the next nominal fire" * doctest::timeout(20)) {
  fixture f;
  auto policy = overlap(overlap_policy::allow_all);
  policy.jitter = 1h;
  f.apply({schedule("tick", "*/10 * * * * *", policy)});
  f.advance_to(minute(30));
  REQUIRE(f.runs.size() >= 170);
  std::chrono::milliseconds longest{0};
  for (std::size_t i = 0; i < f.runs.size(); ++i) {
    const auto nominal = f.obs.fires[i].nominal;
    CHECK(nominal == minute(0) + 40s + std::chrono::seconds(10 * i));  // each instant once, in order
    const auto delay = std::chrono::duration_cast<std::chrono::milliseconds>(f.runs[i]->started - nominal);
    CHECK(delay >= 0ms);
    CHECK(delay < 10s);
    longest = std::max(longest, delay);
  }
  CHECK(longest >= 9s);  // bounded by the next fire, not by a smaller constant
  CHECK(f.obs.skips.empty());
}

TEST_CASE("the same jitter seed gives the same delays and another seed others" * doctest::timeout(20)) {
  CHECK(jitter_delays(7) == jitter_delays(7));
  CHECK(jitter_delays(7) != jitter_delays(8));
}

TEST_CASE("a paused schedule keeps its place, logs each fire it skips and resumes without catching up" *
          doctest::timeout(10)) {
  fixture f;
  f.apply({schedule("tick", "* * * * *")});
  f.advance_to(minute(1));
  REQUIRE(f.runs.size() == 1);
  f.end(*f.runs[0]);
  f.advance(10s);
  f.apply({schedule("tick", "* * * * *", {}, true)});
  f.advance_to(minute(3));
  CHECK(f.runs.size() == 1);
  CHECK(f.obs.skips == std::vector<skip_seen>{{"tick", minute(2), skip_reason::paused, 1},
                                              {"tick", minute(3), skip_reason::paused, 1}});
  CHECK(f.obs.next.at("tick") == minute(4));
  CHECK(fire_state_store(f.state_file()).load().at("tick") == minute(3));
  f.advance(30s);
  f.apply({schedule("tick", "* * * * *")});  // resumed: 10:03 was the paused schedule's, not to be caught up
  CHECK(f.runs.size() == 1);
  f.advance_to(minute(4));
  REQUIRE(f.runs.size() == 2);
  CHECK(f.runs[1]->id == cron_scheduler::fire_id("tick", minute(4)));
  CHECK(f.obs.skips.size() == 2);
}

TEST_CASE("drain waits for the running fires that end within the grace and fires nothing more" * doctest::timeout(10)) {
  fixture f;
  f.apply({schedule("tick", "* * * * *", overlap(overlap_policy::allow_all))});
  f.advance_to(minute(2));
  REQUIRE(f.runs.size() == 2);
  const auto drained = start_drain(f, 10s, "shutdown");
  CHECK_FALSE(*drained);
  f.advance(5s);
  f.end(*f.runs[0]);
  CHECK_FALSE(*drained);
  f.advance(4s);
  f.end(*f.runs[1]);
  CHECK(*drained);
  CHECK_FALSE(f.runs[0]->cancelled());
  CHECK_FALSE(f.runs[1]->cancelled());
  CHECK(f.clock.waiting() == 0);  // neither the wake nor the grace timer is left
  f.advance_to(minute(5));
  CHECK(f.runs.size() == 2);
}

TEST_CASE("drain cancels what still runs when the grace ends, with the reason, and returns once it settled" *
          doctest::timeout(10)) {
  fixture f;
  f.apply({schedule("tick", "* * * * *")});
  f.advance_to(minute(1));
  REQUIRE(f.runs.size() == 1);
  const auto drained = start_drain(f, 10s, "shutdown");
  f.advance(10s - 1ms);
  CHECK_FALSE(f.runs[0]->cancelled());
  f.advance(1ms);
  CHECK(f.runs[0]->cancelled());
  CHECK(f.runs[0]->reason() == "shutdown");
  CHECK_FALSE(*drained);  // the cancelled run has not settled yet
  f.advance(1min);
  f.end(*f.runs[0]);
  CHECK(*drained);
  CHECK(f.runs.size() == 1);
}

TEST_CASE("drain drops the fires buffered behind a running one" * doctest::timeout(10)) {
  fixture f;
  f.apply({schedule("tick", "* * * * *", overlap(overlap_policy::buffer_all))});
  f.advance_to(minute(3));
  REQUIRE(f.runs.size() == 1);
  const auto drained = start_drain(f, 1min, "shutdown");
  f.end(*f.runs[0]);
  CHECK(*drained);
  CHECK(f.runs.size() == 1);
}

TEST_CASE("cancel_running during drain cancels every run at once" * doctest::timeout(10)) {
  fixture f;
  f.apply({schedule("tick", "* * * * *", overlap(overlap_policy::allow_all))});
  f.advance_to(minute(2));
  REQUIRE(f.runs.size() == 2);
  const auto drained = start_drain(f, 1h, "shutdown");
  f.scheduler->cancel_running("shutdown (signalled twice)");
  for (const auto& r : f.runs) CHECK(r->reason() == "shutdown (signalled twice)");
  f.end(*f.runs[0]);
  CHECK_FALSE(*drained);
  f.end(*f.runs[1]);
  CHECK(*drained);
}

TEST_CASE("applying an unchanged schedule again keeps its place and fires each instant once" * doctest::timeout(10)) {
  fixture f;
  f.apply({schedule("tick", "* * * * *")});
  f.advance(10s);
  f.apply({schedule("tick", "* * * * *")});
  f.apply({schedule("tick", "* * * * *")});
  f.advance_to(minute(1));
  REQUIRE(f.runs.size() == 1);
  f.end(*f.runs[0]);
  f.apply({schedule("tick", "* * * * *")});
  f.advance_to(minute(2));
  CHECK(f.nominals() == std::vector<sys_seconds>{minute(1), minute(2)});
  CHECK(f.obs.skips.empty());
}

TEST_CASE("a changed schedule fires on its new expression and the old one stops" * doctest::timeout(10)) {
  fixture f;
  f.apply({schedule("tick", "* * * * *")});
  f.advance_to(minute(1));
  f.end(*f.runs[0]);
  f.advance(10s);
  f.apply({schedule("tick", "*/5 * * * *")});
  for (int i = 2; i <= 10; ++i) {
    f.advance_to(minute(i));
    for (auto& r : f.runs) {
      if (!r->ended) f.end(*r);
    }
  }
  CHECK(f.nominals() == std::vector<sys_seconds>{minute(1), minute(5), minute(10)});
}

TEST_CASE("a removed schedule stops firing while its running fire goes on to its end" * doctest::timeout(10)) {
  fixture f;
  f.apply({schedule("tick", "* * * * *"), schedule("other", "* * * * *", overlap(overlap_policy::allow_all))});
  f.advance_to(minute(1));
  REQUIRE(f.runs.size() == 2);
  fake_run& tick = f.run_of("tick");
  f.apply({schedule("other", "* * * * *", overlap(overlap_policy::allow_all))});
  f.advance_to(minute(3));
  CHECK_FALSE(tick.cancelled());
  CHECK(f.runs.size() == 4);
  for (std::size_t i = 2; i < f.runs.size(); ++i) CHECK(f.runs[i]->task == "other");
  CHECK(f.scheduler->running() == 4);
  f.end(tick);
  CHECK(f.scheduler->running() == 3);
  CHECK(f.obs.finished.back() == std::pair<std::string, sys_seconds>{"tick", minute(1)});
}

TEST_CASE("a fire of a changed schedule still waits for the run its old version started" * doctest::timeout(10)) {
  fixture f;
  f.apply({schedule("tick", "* * * * *")});
  f.advance_to(minute(1));
  f.apply({schedule("tick", "*/2 * * * *")});
  f.advance_to(minute(2));
  CHECK(f.runs.size() == 1);
  CHECK(f.obs.skips == std::vector<skip_seen>{{"tick", minute(2), skip_reason::overlap, 1}});
}

TEST_CASE("an added schedule fires from the time it was added, without catching up the past" * doctest::timeout(10)) {
  fixture f;
  const auto tick = schedule("tick", "* * * * *", overlap(overlap_policy::allow_all));
  f.apply({tick});
  f.advance_to(minute(2) + 30s);
  CHECK(f.runs.size() == 2);
  f.apply({tick, schedule("added", "* * * * *")});
  CHECK(f.runs.size() == 2);
  f.advance_to(minute(3));
  REQUIRE(f.runs.size() == 4);
  CHECK(f.run_of("added").id == cron_scheduler::fire_id("added", minute(3)));
  CHECK(f.run_of("tick", 2).id == cron_scheduler::fire_id("tick", minute(3)));
  CHECK(f.obs.skips.empty());
}

TEST_CASE("a restarted scheduler never fires an instant its predecessor fired" * doctest::timeout(10)) {
  fixture f;
  f.apply({schedule("tick", "* * * * *")});
  f.advance_to(minute(1));
  REQUIRE(f.runs.size() == 1);
  f.end(*f.runs[0]);
  f.restart();  // at the same instant: 10:01:00 is within the catch-up window
  f.apply({schedule("tick", "* * * * *")});
  CHECK(f.runs.size() == 1);
  f.advance_to(minute(2));
  REQUIRE(f.runs.size() == 2);
  CHECK(f.runs[1]->id == cron_scheduler::fire_id("tick", minute(2)));
  CHECK(f.obs.skips.empty());
}

TEST_CASE("a fire whose time cannot be persisted still runs and the error is reported" * doctest::timeout(10)) {
  fixture f;
  std::ofstream(f.dir.dir / "a-file") << "not a directory\n";
  f.start(f.dir.dir / "a-file" / "fire-state.yml");
  f.apply({schedule("tick", "* * * * *")});
  f.advance_to(minute(1));
  CHECK(f.runs.size() == 1);
  CHECK(std::any_of(f.obs.errors.begin(), f.obs.errors.end(), [](const std::string& e) {
    return e.starts_with("cannot persist fire times (a restart may fire them again): ");
  }));
}

TEST_CASE("a fire whose run cannot start is reported and leaves nothing running" * doctest::timeout(10)) {
  fixture f;
  f.before_start = [](const std::string&) { throw std::runtime_error("no such processor"); };
  f.apply({schedule("tick", "* * * * *")});
  f.advance_to(minute(1));
  CHECK(f.runs.empty());
  CHECK(f.scheduler->running() == 0);
  CHECK(f.obs.errors == std::vector<std::string>{"fire of 'tick' failed to run: no such processor"});
  f.before_start = nullptr;
  f.advance_to(minute(2));
  CHECK(f.runs.size() == 1);
}

TEST_CASE("fifty schedules due at one instant all fire at it" * doctest::timeout(10)) {
  fixture f;
  std::vector<active_schedule> all;
  for (int i = 0; i < 50; ++i) all.push_back(schedule("t" + std::to_string(i), "* * * * *"));
  f.apply(std::move(all));
  f.advance_to(minute(1));
  REQUIRE(f.runs.size() == 50);
  for (const auto& r : f.runs) CHECK(r->started == minute(1));
  const auto saved = fire_state_store(f.state_file()).load();
  CHECK(saved.size() == 50);
  for (auto& r : f.runs) f.end(*r);
  f.advance_to(minute(2));
  CHECK(f.runs.size() == 100);
}

TEST_CASE("a schedule fires on its zone's wall clock" * doctest::timeout(10)) {
  fixture f;
  f.apply({schedule("tick", "0 12 * * *", {}, false, "Europe/Berlin")});  // CET, UTC+1
  f.advance_to(instant("2026-03-02T11:00:00Z") - 1ms);
  CHECK(f.runs.empty());
  f.advance_to(instant("2026-03-02T11:00:00Z"));
  REQUIRE(f.runs.size() == 1);
  CHECK(f.obs.fires[0].nominal == instant("2026-03-02T11:00:00Z"));
}

TEST_CASE("with a sync pool the fire state is synced off the loop and reads back whole" * doctest::timeout(20)) {
  fixture f(1);
  f.apply({schedule("tick", "* * * * * *", overlap(overlap_policy::allow_all)),
           schedule("tock", "*/2 * * * * *", overlap(overlap_policy::allow_all))});
  // Saves on the loop while the pool syncs the ones before: the only real
  // waiting in this file, a few milliseconds to let the pool's thread run.
  for (int i = 0; i < 30; ++i) {
    f.advance(1s);
    std::this_thread::sleep_for(1ms);
    f.settle();
  }
  CHECK(f.obs.errors.empty());
  const auto saved = fire_state_store(f.state_file()).load();
  CHECK(saved.at("tick") == minute(1));
  CHECK(saved.at("tock") == minute(1));
}

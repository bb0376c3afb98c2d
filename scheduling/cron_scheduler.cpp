#include "scheduling/cron_scheduler.hpp"

#include "engine/runner.hpp"
#include "scheduling/iso_time.hpp"
#include "scheduling/next_fire.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/system_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <array>
#include <deque>
#include <map>
#include <random>
#include <utility>

namespace cascadence::scheduling {

namespace asio = boost::asio;
using std::chrono::sys_seconds;
using clock = std::chrono::system_clock;

namespace {
constexpr std::array<std::string_view, 3> skip_names{"overlap", "catchup_window", "paused"};
// Fires waiting behind a running one under buffer_all; beyond, they are
// skipped (counted as overlap) rather than queued without bound.
constexpr std::size_t max_buffered_fires = 1000;
// Missed fires counted one by one after downtime; past this the count is a
// lower bound and the scan jumps to the catch-up window.
constexpr std::size_t max_missed_scan = 100'000;
}  // namespace

std::string_view to_string(skip_reason reason) noexcept {
  return skip_names[static_cast<std::size_t>(reason)];
}

engine::run_id cron_scheduler::fire_id(std::string_view task, sys_seconds nominal) {
  return engine::run_id::derived(std::string(task) + "@" + format_iso8601(nominal, time_zone::utc()));
}

struct cron_scheduler::impl : std::enable_shared_from_this<impl> {
  // Per task, across reloads: what runs, what waits behind it.
  struct task_runs {
    std::size_t running = 0;
    std::deque<sys_seconds> buffered;
    std::vector<engine::run_canceller*> cancellers;
  };
  // One schedule's timer loop; replaced, not edited, when its entry changes.
  struct slot {
    slot(active_schedule s, const asio::any_io_executor& ex) : sched(std::move(s)), timer(ex) {}
    active_schedule sched;
    asio::system_timer timer;
    bool stopped = false;
  };

  impl(asio::any_io_executor executor, fire_function f, fire_state_store s, scheduler_observer* o, asio::thread_pool* p)
      : ex(std::move(executor)),
        sync_pool(p),
        fire(std::move(f)),
        store(std::move(s)),
        obs(o != nullptr ? o : &null_observer),
        run_ended(ex, asio::steady_timer::time_point::max()),
        flushed_signal(ex, asio::steady_timer::time_point::max()),
        rng(std::random_device{}()) {
    try {
      last = store.load();
    } catch (const std::exception& e) {
      obs->on_error(std::string("cannot read fire state, starting without it: ") + e.what());
    }
  }

  asio::any_io_executor ex;
  asio::thread_pool* sync_pool;
  bool sync_running = false;
  bool sync_again = false;
  fire_function fire;
  fire_state_store store;
  scheduler_observer null_observer;
  scheduler_observer* obs;
  fire_state_store::times last;
  std::map<std::string, std::shared_ptr<slot>> slots;
  std::map<std::string, task_runs> runs;
  std::size_t running_total = 0;
  bool draining = false;
  asio::steady_timer run_ended;  // cancelled whenever a run ends
  bool flush_scheduled = false;
  std::uint64_t flush_requested = 0;
  std::uint64_t flushed = 0;
  asio::steady_timer flushed_signal;  // cancelled whenever the state file was written
  std::mt19937_64 rng;

  // Persists `nominal` as the task's last fire before anything runs for it.
  // Fires due at the same instant share one write.
  asio::awaitable<void> commit(const std::string& task, sys_seconds nominal) {
    last[task] = nominal;
    const auto mine = ++flush_requested;
    if (!flush_scheduled) {
      flush_scheduled = true;
      asio::post(ex, [self = shared_from_this()] { self->flush(); });
    }
    while (flushed < mine) {
      auto [ec] = co_await flushed_signal.async_wait(asio::as_tuple(asio::use_awaitable));
      (void)ec;  // the signal is a cancel: every waiter rechecks
    }
  }

  void flush() {
    flush_scheduled = false;
    const auto target = flush_requested;
    try {
      store.save(last, sync_pool != nullptr ? durability::process_crash : durability::synced);
      request_sync();
    } catch (const std::exception& e) {
      // Firing goes on: availability over exactly-once, and it is reported.
      obs->on_error(std::string("cannot persist fire times (a restart may fire them again): ") + e.what());
    }
    flushed = target;
    flushed_signal.cancel();
  }

  // fsync of the fire state on the pool; one at a time, the last save wins.
  void request_sync() {
    if (sync_pool == nullptr) return;
    if (sync_running) {
      sync_again = true;
      return;
    }
    sync_running = true;
    asio::post(*sync_pool, [self = shared_from_this()] {
      std::string error;
      try {
        self->store.sync();
      } catch (const std::exception& e) {
        error = e.what();
      }
      asio::post(self->ex, [self, error = std::move(error)] {
        self->sync_running = false;
        if (!error.empty()) self->obs->on_error("cannot fsync the fire state: " + error);
        if (std::exchange(self->sync_again, false)) self->request_sync();
      });
    });
  }

  std::chrono::milliseconds jitter_for(const active_schedule& s, sys_seconds next) {
    const auto limit = s.entry.policy.jitter;
    if (limit.count() <= 0) return {};
    auto bound = limit;
    if (auto after = next_fire(s.expression, s.zone, next)) {
      // Never past the next nominal fire.
      bound = std::min(
          bound, std::chrono::duration_cast<std::chrono::milliseconds>(*after - next) - std::chrono::milliseconds(1));
    }
    if (bound.count() <= 0) return {};
    return std::chrono::milliseconds(std::uniform_int_distribution<std::int64_t>(0, bound.count())(rng));
  }

  // `intended` is when the run should have started (nominal plus jitter);
  // lateness is measured here, once the fire is persisted and the run is
  // about to start, not when the timer woke.
  void start_run(const std::string& task, sys_seconds nominal, clock::time_point intended) {
    const auto id = cron_scheduler::fire_id(task, nominal);
    obs->on_fire(task, nominal, clock::now() - intended, id);
    auto& tr = runs[task];
    ++tr.running;
    ++running_total;
    asio::co_spawn(ex, run_one(shared_from_this(), task, nominal, id), asio::detached);
  }

  static asio::awaitable<void> run_one(std::shared_ptr<impl> self, std::string task, sys_seconds nominal,
                                       engine::run_id id) {
    engine::run_canceller canceller;
    auto& tr = self->runs[task];
    tr.cancellers.push_back(&canceller);
    std::optional<engine::run_report> report;
    try {
      report = co_await self->fire(task, id, canceller);
    } catch (const std::exception& e) {
      self->obs->on_error("fire of '" + task + "' failed to run: " + e.what());
    }
    std::erase(tr.cancellers, &canceller);
    --tr.running;
    --self->running_total;
    if (report) self->obs->on_run_finished(task, nominal, *report);
    self->run_ended.cancel();
    if (!tr.buffered.empty() && !self->draining && tr.running == 0) {
      const auto next = tr.buffered.front();
      tr.buffered.pop_front();
      self->start_run(task, next, next);
    }
  }

  asio::awaitable<void> fire_at(const std::shared_ptr<slot>& sl, sys_seconds nominal, clock::time_point intended) {
    const auto& entry = sl->sched.entry;
    co_await commit(entry.task, nominal);
    if (entry.paused) {
      obs->on_skip(entry.task, nominal, skip_reason::paused, 1);
      co_return;
    }
    auto& tr = runs[entry.task];
    if (tr.running > 0) {
      switch (entry.policy.overlap) {
        case overlap_policy::skip:
          obs->on_skip(entry.task, nominal, skip_reason::overlap, 1);
          co_return;
        case overlap_policy::buffer_one:
        case overlap_policy::buffer_all: {
          const std::size_t room = entry.policy.overlap == overlap_policy::buffer_one ? 1 : max_buffered_fires;
          if (tr.buffered.size() >= room) {
            obs->on_skip(entry.task, nominal, skip_reason::overlap, 1);
          } else {
            tr.buffered.push_back(nominal);
          }
          co_return;
        }
        case overlap_policy::cancel_other: {
          const auto reason = "replaced by the fire at " + format_iso8601(nominal, sl->sched.zone);
          for (auto* c : tr.cancellers) c->cancel(reason);
          while (tr.running > 0 && !sl->stopped) {
            auto [ec] = co_await run_ended.async_wait(asio::as_tuple(asio::use_awaitable));
            (void)ec;
          }
          if (sl->stopped) co_return;
          break;
        }
        case overlap_policy::allow_all:
          break;
      }
    }
    start_run(entry.task, nominal, intended);
  }

  // Fires in (cursor, now]: the latest runs if it is younger than the
  // catch-up window, the others are skipped and counted.
  asio::awaitable<void> catch_up(const std::shared_ptr<slot>& sl, sys_seconds& cursor, clock::time_point now) {
    const auto& s = sl->sched;
    std::size_t missed = 0;
    std::optional<sys_seconds> latest;
    auto t = cursor;
    const auto window_start = std::chrono::floor<std::chrono::seconds>(now - s.entry.policy.catchup_window);
    for (;;) {
      auto n = next_fire(s.expression, s.zone, t);
      if (!n || *n > now) break;
      latest = n;
      ++missed;
      t = *n;
      if (missed % max_missed_scan == 0 && t < window_start) t = window_start;  // the count is now a lower bound
    }
    if (!latest) co_return;
    cursor = *latest;
    if (now - *latest <= s.entry.policy.catchup_window) {
      if (missed > 1) obs->on_skip(s.entry.task, *latest, skip_reason::catchup_window, missed - 1);
      co_await fire_at(sl, *latest, *latest);
    } else {
      obs->on_skip(s.entry.task, *latest, skip_reason::catchup_window, missed);
      co_await commit(s.entry.task, *latest);
    }
  }

  static asio::awaitable<void> run_slot(std::shared_ptr<impl> self, std::shared_ptr<slot> sl) {
    const auto& s = sl->sched;
    const auto& task = s.entry.task;
    auto cursor = std::chrono::floor<std::chrono::seconds>(clock::now());
    if (auto it = self->last.find(task); it != self->last.end()) {
      cursor = it->second;
      co_await self->catch_up(sl, cursor, clock::now());
    }
    while (!sl->stopped) {
      const auto next = next_fire(s.expression, s.zone, cursor);
      self->obs->on_next_fire(task, next);
      if (!next) co_return;
      const auto intended = clock::time_point(*next) + self->jitter_for(s, *next);
      sl->timer.expires_at(intended);
      auto [ec] = co_await sl->timer.async_wait(asio::as_tuple(asio::use_awaitable));
      (void)ec;  // stop_firing() cancels; the flag says so
      if (sl->stopped) co_return;
      const auto now = clock::now();
      if (now - *next > s.entry.policy.catchup_window) {
        // Woke far too late (the machine slept, the loop stalled).
        co_await self->catch_up(sl, cursor, now);
        continue;
      }
      cursor = *next;
      co_await self->fire_at(sl, *next, intended);
    }
  }

  void stop_slot(slot& sl) {
    sl.stopped = true;
    sl.timer.cancel();
  }
};

cron_scheduler::cron_scheduler(asio::any_io_executor ex, fire_function fire, fire_state_store state,
                               scheduler_observer* observer, asio::thread_pool* sync_pool)
    : impl_(std::make_shared<impl>(std::move(ex), std::move(fire), std::move(state), observer, sync_pool)) {}

cron_scheduler::~cron_scheduler() {
  stop_firing();
}

void cron_scheduler::apply(std::vector<active_schedule> schedules) {
  auto& m = *impl_;
  std::map<std::string, std::shared_ptr<impl::slot>> next;
  for (auto& s : schedules) {
    const auto task = s.entry.task;
    auto it = m.slots.find(task);
    if (it != m.slots.end() && it->second->sched.entry == s.entry && !it->second->stopped) {
      next.emplace(task, it->second);
      m.slots.erase(it);
      continue;
    }
    auto sl = std::make_shared<impl::slot>(std::move(s), m.ex);
    next.emplace(task, sl);
    if (!m.draining) asio::co_spawn(m.ex, impl::run_slot(impl_, sl), asio::detached);
  }
  for (auto& [task, sl] : m.slots) m.stop_slot(*sl);  // removed or changed
  m.slots = std::move(next);
}

void cron_scheduler::stop_firing() {
  for (auto& [task, sl] : impl_->slots) impl_->stop_slot(*sl);
}

asio::awaitable<void> cron_scheduler::drain(std::chrono::milliseconds grace, std::string reason) {
  auto self = impl_;
  self->draining = true;
  stop_firing();
  for (auto& [task, tr] : self->runs) tr.buffered.clear();
  const auto deadline = std::chrono::steady_clock::now() + grace;
  asio::steady_timer grace_timer(self->ex, deadline);
  // Waiters sleep on run_ended; the end of the grace period wakes them too.
  grace_timer.async_wait([self](boost::system::error_code ec) {
    if (!ec) self->run_ended.cancel();
  });
  while (self->running_total > 0 && std::chrono::steady_clock::now() < deadline) {
    auto [ec] = co_await self->run_ended.async_wait(asio::as_tuple(asio::use_awaitable));
    (void)ec;
  }
  grace_timer.cancel();
  if (self->running_total == 0) co_return;
  cancel_running(reason);
  while (self->running_total > 0) {
    auto [ec] = co_await self->run_ended.async_wait(asio::as_tuple(asio::use_awaitable));
    (void)ec;
  }
}

void cron_scheduler::cancel_running(const std::string& reason) {
  for (auto& [task, tr] : impl_->runs) {
    // A copy: cancelling may end a run, which removes its canceller.
    const auto cancellers = tr.cancellers;
    for (auto* c : cancellers) c->cancel(reason);
  }
}

std::size_t cron_scheduler::running() const noexcept {
  return impl_->running_total;
}

}  // namespace cascadence::scheduling

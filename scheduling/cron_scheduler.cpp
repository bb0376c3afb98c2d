#include "scheduling/cron_scheduler.hpp"

#include "core/async_event.hpp"
#include "core/describe.hpp"
#include "engine/runner.hpp"
#include "scheduling/iso_time.hpp"
#include "scheduling/next_fire.hpp"

#include <boost/asio/post.hpp>
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
using time_point = clock::time_point;

namespace {
constexpr std::array<std::string_view, 3> skip_names{"overlap", "catchup_window", "paused"};
// Fires waiting behind a running one under buffer_all; beyond, they are
// skipped (counted as overlap) rather than queued without bound.
constexpr std::size_t max_buffered_fires = 1000;
// Missed fires counted one by one after downtime; past this the count is a
// lower bound and the scan jumps to the catch-up window.
constexpr std::size_t max_missed_scan = 100'000;
// A wake this much after a fire's intended start may have passed later
// instants of the schedule too (they are whole seconds apart at least): it
// is handled as a catch-up. Below it a fire costs no extra next_fire().
constexpr std::chrono::seconds late_wake{1};
// Fires dispatched before the scheduler gives the loop back.
constexpr std::size_t fires_per_turn = 16;
}  // namespace

std::string_view to_string(skip_reason reason) noexcept {
  return skip_names[static_cast<std::size_t>(reason)];
}

engine::run_id cron_scheduler::fire_id(std::string_view task, sys_seconds nominal) {
  std::string key;
  key.reserve(task.size() + 32);
  key.append(task).append(1, '@').append(format_iso8601(nominal, time_zone::utc()));
  return engine::run_id::derived(key);
}

struct cron_scheduler::impl : std::enable_shared_from_this<impl> {
  // Per task, across reloads: what runs, what waits behind it.
  struct task_runs {
    std::size_t running = 0;
    std::deque<sys_seconds> buffered;
    std::vector<engine::run_canceller*> cancellers;
    // cancel_other: the fire that starts once the cancelled runs settled.
    std::optional<sys_seconds> replacement;
  };
  // One schedule; replaced, not edited, when its entry changes.
  struct slot {
    explicit slot(active_schedule s) : sched(std::move(s)) {}
    active_schedule sched;
    sys_seconds cursor{};               // the last nominal instant handled
    std::optional<sys_seconds> next;    // the nominal fire waited for
    engine::run_id next_id;             // its run id, worked out ahead of time
    task_runs* runs = nullptr;          // node of impl::runs: stable
    sys_seconds* last_fired = nullptr;  // node of impl::last, once it exists
    bool catch_up_first = false;        // a fire time was persisted: catch up before firing
    bool stopped = false;
  };
  // Every schedule waits in one min-heap on one timer: a wake costs one
  // heap pop per due schedule, and fires due at the same instant are handled
  // in one batch with one write of the fire state.
  struct due {
    time_point at;  // nominal plus jitter
    std::shared_ptr<slot> sl;
  };
  struct later {
    bool operator()(const due& a, const due& b) const noexcept { return a.at > b.at; }
  };
  struct fire {
    std::shared_ptr<slot> sl;
    sys_seconds nominal;
    time_point intended;
    engine::run_id id;
  };

  impl(asio::any_io_executor executor, fire_function f, fire_state_store s, scheduler_observer* o,
       const cron_scheduler_options& options)
      : ex(std::move(executor)),
        sync_pool(options.sync_pool),
        fire_run(std::move(f)),
        store(std::move(s)),
        obs(o != nullptr ? o : &null_observer),
        time(options.clock != nullptr ? *options.clock : system_clock()),
        wake(time.make_timer(ex)),
        run_ended(ex),
        rng(options.jitter_seed ? *options.jitter_seed : std::random_device{}()) {
    try {
      last = store.load();
      for (const auto& problem : store.problems()) obs->on_error("fire state: " + problem);
    } catch (const std::exception& e) {
      obs->on_error(std::string("cannot read fire state, starting without it: ") + e.what());
    }
  }

  asio::any_io_executor ex;
  asio::thread_pool* sync_pool;
  bool sync_running = false;
  bool sync_again = false;
  fire_function fire_run;
  fire_state_store store;
  scheduler_observer null_observer;
  scheduler_observer* obs;
  clock& time;
  fire_state_store::times last;
  bool last_dirty = false;
  std::map<std::string, std::shared_ptr<slot>> slots;
  std::map<std::string, task_runs> runs;
  std::size_t running_total = 0;
  bool draining = false;
  std::vector<due> heap;                     // std::push_heap/pop_heap with `later`
  std::size_t stale = 0;                     // heap entries of stopped slots
  std::unique_ptr<clock_timer> wake;         // one virtual call per wake, none per fire
  std::optional<time_point> armed;           // what `wake` waits for
  std::vector<fire> batch;                   // scratch of on_wake()
  std::deque<fire> pending;                  // persisted, not yet dispatched
  std::vector<std::shared_ptr<slot>> fired;  // to queue again once pending is empty
  core::async_event run_ended;               // set whenever a run ends while draining
  std::mt19937_64 rng;

  // --- persistence -------------------------------------------------------

  // Records `nominal` as the task's last fire; persist() writes it before
  // anything runs for it.
  void remember(slot& sl, sys_seconds nominal) {
    if (sl.last_fired == nullptr) sl.last_fired = &last[sl.sched.entry.task];
    *sl.last_fired = nominal;
    last_dirty = true;
  }

  void persist() {
    if (!last_dirty) return;
    last_dirty = false;
    try {
      store.save(last, sync_pool != nullptr ? durability::process_crash : durability::synced);
      request_sync();
    } catch (const std::exception& e) {
      // Firing goes on: availability over exactly-once, and it is reported.
      obs->on_error(std::string("cannot persist fire times (a restart may fire them again): ") + e.what());
    }
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

  // --- the due heap and its timer -----------------------------------------

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

  void push(time_point at, std::shared_ptr<slot> sl) {
    heap.push_back({at, std::move(sl)});
    std::push_heap(heap.begin(), heap.end(), later{});
  }

  // Computes the slot's next fire after its cursor and queues it.
  void schedule_next(const std::shared_ptr<slot>& sl) {
    const auto& s = sl->sched;
    sl->next = next_fire(s.expression, s.zone, sl->cursor);
    obs->on_next_fire(s.entry.task, sl->next);
    if (!sl->next) return;
    sl->next_id = cron_scheduler::fire_id(s.entry.task, *sl->next);
    push(time_point(*sl->next) + jitter_for(s, *sl->next), sl);
  }

  // The slots of the fires just started wait for their next fire again.
  // Done after the fires rather than between them: what a fire costs before
  // its run starts is its lateness, and that of every fire behind it.
  void schedule_fired() {
    for (const auto& sl : fired) {
      if (!sl->stopped) schedule_next(sl);
    }
    fired.clear();
    arm();
  }

  void stop_slot(slot& sl) {
    if (sl.stopped) return;
    sl.stopped = true;
    ++stale;
  }

  // Drops the entries of stopped slots once they are most of the heap
  // (reloads that change many schedules), so it never grows without bound.
  void compact_heap() {
    if (stale < 64 || stale * 2 < heap.size()) return;
    std::erase_if(heap, [](const due& d) { return d.sl->stopped; });
    std::make_heap(heap.begin(), heap.end(), later{});
    stale = 0;
  }

  void arm() {
    compact_heap();
    if (heap.empty() || draining) {
      if (armed) wake->cancel();
      armed.reset();
      return;
    }
    const auto at = heap.front().at;
    if (armed == at) return;
    armed = at;
    // Aborts a wait for another time: its handler sees operation_aborted.
    wake->async_wait_until(at, [self = shared_from_this()](boost::system::error_code ec) {
      if (ec) return;
      self->armed.reset();
      self->on_wake();
    });
  }

  // Takes every schedule due by now off the heap, persists their fires in
  // one write, then starts their runs.
  void on_wake() {
    const auto now = time.now();
    batch.clear();
    while (!heap.empty() && heap.front().at <= now) {
      std::pop_heap(heap.begin(), heap.end(), later{});
      const auto intended = heap.back().at;
      auto sl = std::move(heap.back().sl);
      heap.pop_back();
      if (sl->stopped) {
        if (stale > 0) --stale;
        continue;
      }
      if (std::exchange(sl->catch_up_first, false)) {
        catch_up(sl, now, std::nullopt);
      } else if (sl->next) {
        if (now - intended >= late_wake || now - *sl->next > sl->sched.entry.policy.catchup_window) {
          // Woke late (the machine slept, the loop stalled): later instants
          // may have passed too, and only the latest of them may run.
          catch_up(sl, now, intended);
        } else {
          sl->cursor = *sl->next;
          remember(*sl, *sl->next);
          batch.push_back({sl, *sl->next, intended, sl->next_id});
        }
      }
      fired.push_back(std::move(sl));
    }
    persist();
    const bool idle = pending.empty();
    pending.insert(pending.end(), std::make_move_iterator(batch.begin()), std::make_move_iterator(batch.end()));
    batch.clear();
    if (idle) start_pending();
    arm();
  }

  // Starts the persisted fires a few at a time, giving the loop back in
  // between: the runs just started settle (their completions are queued
  // behind) before more start, so a batch of thousands reuses the memory of
  // the runs before it instead of holding all of them at once.
  void start_pending() {
    for (std::size_t i = 0; i < fires_per_turn && !pending.empty(); ++i) {
      auto f = std::move(pending.front());
      pending.pop_front();
      dispatch(f);
    }
    if (!pending.empty()) {
      asio::post(ex, [self = shared_from_this()] { self->start_pending(); });
    } else {
      schedule_fired();
    }
  }

  // Fires in (cursor, now]: the latest runs if it is younger than the
  // catch-up window, the others are skipped and counted. `intended` is when
  // the slot's awaited fire was meant to start, if the scan began from it.
  void catch_up(const std::shared_ptr<slot>& sl, time_point now, std::optional<time_point> intended) {
    const auto& s = sl->sched;
    std::size_t missed = 0;
    std::optional<sys_seconds> latest;
    auto t = sl->cursor;
    const auto window_start = std::chrono::floor<std::chrono::seconds>(now - s.entry.policy.catchup_window);
    for (;;) {
      auto n = next_fire(s.expression, s.zone, t);
      if (!n || *n > now) break;
      latest = n;
      ++missed;
      t = *n;
      if (missed % max_missed_scan == 0 && t < window_start) t = window_start;  // the count is now a lower bound
    }
    if (!latest) return;
    sl->cursor = *latest;
    remember(*sl, *latest);
    if (now - *latest <= s.entry.policy.catchup_window) {
      if (missed > 1) obs->on_skip(s.entry.task, *latest, skip_reason::catchup_window, missed - 1);
      if (missed == 1 && intended && sl->next == latest) {
        batch.push_back({sl, *latest, *intended, sl->next_id});  // only the awaited fire, late: keep its jitter
      } else {
        batch.push_back({sl, *latest, time_point(*latest), cron_scheduler::fire_id(s.entry.task, *latest)});
      }
    } else {
      obs->on_skip(s.entry.task, *latest, skip_reason::catchup_window, missed);
    }
  }

  // --- runs ----------------------------------------------------------------

  // A fire, persisted: runs it, or skips, buffers or replaces according to
  // the schedule's state and overlap policy.
  void dispatch(const fire& f) {
    const auto& sl = f.sl;
    const auto nominal = f.nominal;
    const auto& entry = sl->sched.entry;
    if (entry.paused) {
      obs->on_skip(entry.task, nominal, skip_reason::paused, 1);
      return;
    }
    auto& tr = *sl->runs;
    if (tr.running > 0) {
      switch (entry.policy.overlap) {
        case overlap_policy::skip:
          obs->on_skip(entry.task, nominal, skip_reason::overlap, 1);
          return;
        case overlap_policy::buffer_one:
        case overlap_policy::buffer_all: {
          const std::size_t room = entry.policy.overlap == overlap_policy::buffer_one ? 1 : max_buffered_fires;
          if (tr.buffered.size() >= room) {
            obs->on_skip(entry.task, nominal, skip_reason::overlap, 1);
          } else {
            tr.buffered.push_back(nominal);
          }
          return;
        }
        case overlap_policy::cancel_other: {
          // Starts when the cancelled runs have settled (run_one).
          if (tr.replacement) obs->on_skip(entry.task, *tr.replacement, skip_reason::overlap, 1);
          tr.replacement = nominal;
          const auto reason = "replaced by the fire at " + format_iso8601(nominal, sl->sched.zone);
          const auto cancellers = tr.cancellers;  // cancelling may end a run, which edits the list
          for (auto* c : cancellers) c->cancel(reason);
          return;
        }
        case overlap_policy::allow_all:
          break;
      }
    }
    start_run(entry.task, tr, nominal, f.intended, f.id);
  }

  // A fire's run in flight.
  struct running_fire {
    std::shared_ptr<impl> self;
    std::string task;
    task_runs* runs;
    sys_seconds nominal;
    engine::run_canceller canceller;
  };

  // `intended` is when the run should have started (nominal plus jitter);
  // lateness is measured here, once the fire is persisted and the run is
  // about to start, not when the timer woke.
  void start_run(const std::string& task, task_runs& tr, sys_seconds nominal, time_point intended,
                 const engine::run_id& id) {
    obs->on_fire(task, nominal, time.now() - intended, id);
    ++tr.running;
    ++running_total;
    auto run = std::make_unique<running_fire>(running_fire{shared_from_this(), task, &tr, nominal, {}});
    auto* r = run.get();
    tr.cancellers.push_back(&r->canceller);
    try {
      fire_run(task, id, r->canceller, [r](std::exception_ptr error, engine::run_report report) {
        r->self->run_ended_with(std::unique_ptr<running_fire>(r), error, report);
      });
      (void)run.release();  // owned by the callback now
    } catch (...) {
      run_ended_with(std::move(run), std::current_exception(), {});
    }
  }

  void run_ended_with(std::unique_ptr<running_fire> run, const std::exception_ptr& error,
                      const engine::run_report& report) {
    auto& tr = *run->runs;
    std::erase(tr.cancellers, &run->canceller);
    --tr.running;
    --running_total;
    if (error) {
      obs->on_error("fire of '" + run->task + "' failed to run: " + core::describe(error));
    } else {
      obs->on_run_finished(run->task, run->nominal, report);
    }
    if (draining) {
      run_ended.set();  // drain() waits on it
      return;
    }
    if (tr.running != 0) return;
    if (auto next = std::exchange(tr.replacement, std::nullopt)) {
      start_run(run->task, tr, *next, time_point(*next), cron_scheduler::fire_id(run->task, *next));
    } else if (!tr.buffered.empty()) {
      const auto buffered = tr.buffered.front();
      tr.buffered.pop_front();
      start_run(run->task, tr, buffered, time_point(buffered), cron_scheduler::fire_id(run->task, buffered));
    }
  }
};

cron_scheduler::cron_scheduler(asio::any_io_executor ex, fire_function fire, fire_state_store state,
                               scheduler_observer* observer, asio::thread_pool* sync_pool)
    : cron_scheduler(std::move(ex), std::move(fire), std::move(state), observer,
                     cron_scheduler_options{.sync_pool = sync_pool, .clock = nullptr, .jitter_seed = std::nullopt}) {}

cron_scheduler::cron_scheduler(asio::any_io_executor ex, fire_function fire, fire_state_store state,
                               scheduler_observer* observer, cron_scheduler_options options)
    : impl_(std::make_shared<impl>(std::move(ex), std::move(fire), std::move(state), observer, options)) {}

cron_scheduler::~cron_scheduler() {
  stop_firing();
}

void cron_scheduler::apply(std::vector<active_schedule> schedules) {
  auto& m = *impl_;
  std::map<std::string, std::shared_ptr<impl::slot>> next;
  const auto now = m.time.now();
  for (auto& s : schedules) {
    const auto task = s.entry.task;
    auto it = m.slots.find(task);
    if (it != m.slots.end() && it->second->sched.entry == s.entry && !it->second->stopped) {
      next.emplace(task, it->second);
      m.slots.erase(it);
      continue;
    }
    auto sl = std::make_shared<impl::slot>(std::move(s));
    sl->runs = &m.runs[task];
    next.emplace(task, sl);
    if (m.draining) continue;
    if (auto last = m.last.find(task); last != m.last.end()) {
      // Fires missed while down (or while the schedule was changed) are
      // caught up first, on the loop rather than inside apply().
      sl->cursor = last->second;
      sl->last_fired = &last->second;
      sl->catch_up_first = true;
      m.push(now, sl);
    } else {
      sl->cursor = std::chrono::floor<std::chrono::seconds>(now);
      m.schedule_next(sl);
    }
  }
  for (auto& [task, sl] : m.slots) m.stop_slot(*sl);  // removed or changed
  m.slots = std::move(next);
  m.arm();
}

void cron_scheduler::stop_firing() {
  auto& m = *impl_;
  for (auto& [task, sl] : m.slots) m.stop_slot(*sl);
  m.heap.clear();
  m.stale = 0;
  m.arm();
}

asio::awaitable<void> cron_scheduler::drain(std::chrono::milliseconds grace, std::string reason) {
  auto self = impl_;
  self->draining = true;
  stop_firing();
  for (auto& [task, tr] : self->runs) {
    tr.buffered.clear();
    tr.replacement.reset();
  }
  // drain() waits on run_ended; the end of the grace period sets it too.
  auto grace_over = std::make_shared<bool>(false);
  const auto grace_timer = self->time.make_timer(self->ex);
  grace_timer->async_wait_for(grace, [self, grace_over](boost::system::error_code ec) {
    if (ec) return;
    *grace_over = true;
    self->run_ended.set();
  });
  while (self->running_total > 0 && !*grace_over) {
    self->run_ended.reset();
    (void)co_await self->run_ended.wait();
  }
  grace_timer->cancel();
  if (self->running_total == 0) co_return;
  cancel_running(reason);
  while (self->running_total > 0) {
    self->run_ended.reset();
    (void)co_await self->run_ended.wait();
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

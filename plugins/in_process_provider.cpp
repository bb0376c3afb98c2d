#include "plugins/in_process_provider.hpp"

#include "engine/processor.hpp"
#include "plugins/outcome.hpp"

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <atomic>
#include <deque>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

namespace cascadence::plugins {

namespace asio = boost::asio;

namespace {

// Run tokens are unique in the process, across plugins and reloads.
std::atomic<std::uint64_t> next_run{1};
std::atomic<std::size_t> pending_runs{0};

std::string_view text_of(const std::uint8_t* ptr, std::size_t len) {
  return ptr == nullptr || len == 0 ? std::string_view() : std::string_view(reinterpret_cast<const char*>(ptr), len);
}

using completion = asio::any_completion_handler<void(engine::outcome)>;

class instance_handle;

// One attempt between start() and the plugin's complete(). Everything but `ctx` is guarded by the host's mutex;
// `ctx` is touched on the loop only.
struct attempt final {
  cascadence_run_t run = 0;
  std::string task;
  std::shared_ptr<instance_handle> instance;
  asio::any_io_executor loop;

  std::optional<std::string> result;
  std::string error;
  cascadence_status_t status = CASCADENCE_STATUS_OK;
  bool completed = false;
  bool cancelled = false;  // the host stopped waiting: a later complete() is discarded
  std::optional<completion> handler;
  // Keeps the loop running while a completion is due from another thread.
  asio::any_io_executor work;

  engine::task_context* ctx = nullptr;

  attempt() = default;
  attempt(const attempt&) = delete;
  attempt& operator=(const attempt&) = delete;
  // The last reference to an attempt may go on a plugin's thread (it completes while the loop already dropped
  // its copy); its instance must not be destroy()ed there (a plugin that joins its threads in destroy() would
  // join itself), so the instance waits for the loop (see reap()).
  ~attempt();
};

// Attempts completed after their cancellation and the instances of finished attempts, dropped on the loop by
// the next attempt or processor that goes (see complete() and ~attempt()).
std::mutex graveyard_mu;
std::vector<std::shared_ptr<void>> graveyard;

void bury(std::shared_ptr<void> p) {
  const std::lock_guard lock(graveyard_mu);
  graveyard.push_back(std::move(p));
}

// On the loop. Dropping an attempt buries its instance: again until nothing is left.
void reap() {
  for (;;) {
    std::vector<std::shared_ptr<void>> dead;
    {
      const std::lock_guard lock(graveyard_mu);
      if (graveyard.empty()) return;
      dead.swap(graveyard);
    }
  }
}

attempt::~attempt() {
  if (instance) bury(std::move(instance));
}

// The attempt whose start() this thread is inside, on the loop: its output lines go straight to the engine.
thread_local const attempt* inline_attempt = nullptr;

class host_state;

// An attempt of an immediate processor, on the stack of its run_now(): start() completes it on this thread
// before it returns, so the host's calls reach it through the thread, with no lock and no table.
struct immediate_attempt final {
  const host_state* host = nullptr;
  cascadence_run_t run = 0;
  engine::task_context* ctx = nullptr;
  std::optional<std::string> result;
  std::string error;
  cascadence_status_t status = CASCADENCE_STATUS_OK;
  bool completed = false;
};
thread_local immediate_attempt* immediate_now = nullptr;

// The immediate attempt `run` of `host` this thread is inside, or null.
immediate_attempt* immediate_of(const host_state& host, cascadence_run_t run) noexcept {
  auto* a = immediate_now;
  return a != nullptr && a->host == &host && a->run == run ? a : nullptr;
}

cascadence_bytes_t bytes_of(const std::string& text) {
  return {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()};
}

// What an in-process plugin gets as its cascadence_host_t; host_data points back here.
class host_state final {
 public:
  host_state(std::string name, in_process_options options) : name_(std::move(name)), options_(options) {
    host_.struct_size = sizeof host_;
    host_.abi_major = CASCADENCE_PLUGIN_ABI_MAJOR;
    host_.abi_minor = CASCADENCE_PLUGIN_ABI_MINOR;
    host_.name = "cascadence";
    host_.version = "0.1.0";
    host_.host_data = this;
    host_.get_extension = &get_extension;
    host_.log = &log;
    host_.emit_result = &emit_result;
    host_.set_error = &set_error;
    host_.emit_output = &emit_output;
    host_.is_cancelled = &is_cancelled;
    host_.complete = &complete;
    executor_.struct_size = sizeof executor_;
    executor_.submit = &submit;
  }
  host_state(const host_state&) = delete;
  host_state& operator=(const host_state&) = delete;

  [[nodiscard]] const cascadence_host_t& host() const noexcept { return host_; }
  void set_name(std::string name) {
    const std::lock_guard lock(mu_);
    name_ = std::move(name);
  }
  [[nodiscard]] std::string name() const {
    const std::lock_guard lock(mu_);
    return name_;
  }
  void stopping() noexcept { stopping_.store(true); }

  void add(const std::shared_ptr<attempt>& a) {
    const std::lock_guard lock(mu_);
    runs_.emplace(a->run, a);
    pending_runs.fetch_add(1, std::memory_order_relaxed);
  }
  // Removes a run that ended without complete() (start() failed).
  void drop(cascadence_run_t run) {
    const std::lock_guard lock(mu_);
    if (runs_.erase(run) != 0) pending_runs.fetch_sub(1, std::memory_order_relaxed);
  }
  std::mutex& mutex() noexcept { return mu_; }

  void write_log(std::string_view level, std::string_view text) const { write_log_as(name(), level, text); }

  // With the mutex held (the name is read directly).
  void write_log_locked(std::string_view level, std::string_view text) const { write_log_as(name_, level, text); }

  void write_log_as(const std::string& name, std::string_view level, std::string_view text) const {
    std::string line = "plugin " + name + ": ";
    if (!level.empty()) line.append(level).append(": ");
    line.append(text);
    write_log_line(options_.log, line);
  }

  // Delivers an attempt's outcome to its waiting coroutine, on the loop. Called by whoever took the handler
  // (under the mutex), so the attempt's work guard is this caller's too: it is let go only once post() has
  // returned, so that the loop cannot run out of work, return and be destroyed while a plugin's thread is
  // still inside post().
  static void deliver(std::shared_ptr<attempt> a, completion handler, engine::outcome out) {
    const auto work = std::exchange(a->work, asio::any_io_executor());
    auto loop = a->loop;
    asio::post(loop, [a = std::move(a), handler = std::move(handler), out = std::move(out)]() mutable {
      auto slot = asio::get_associated_cancellation_slot(handler);
      if (slot.is_connected()) slot.clear();
      std::move(handler)(std::move(out));
    });
  }

 private:
  static host_state& self(const cascadence_host_t* host) { return *static_cast<host_state*>(host->host_data); }

  // The live attempt `run`, or null after logging the stray call (caller holds the mutex).
  std::shared_ptr<attempt> find_locked(cascadence_run_t run, std::string_view call) {
    if (auto it = runs_.find(run); it != runs_.end()) return it->second;
    stray_locked(run, call);
    return nullptr;
  }

  void stray_locked(cascadence_run_t run, std::string_view call) {
    for (auto& f : finished_) {
      if (f.run != run) continue;
      if (!f.logged) {
        f.logged = true;
        const auto what = call == "complete" ? std::string("complete() called twice")
                                             : std::string(call) + "() called after complete()";
        write_log_locked({}, what + " for run " + std::to_string(run) + " of task " + f.task + " (ignored)");
      }
      return;
    }
    // Bounded: a plugin that keeps calling with made-up tokens must not flood the log.
    if (unknown_logged_ < 10) {
      ++unknown_logged_;
      write_log_locked({}, std::string(call) + "() for unknown run " + std::to_string(run) + " (ignored)");
    }
  }

  void finish_locked(const attempt& a) {
    runs_.erase(a.run);
    pending_runs.fetch_sub(1, std::memory_order_relaxed);
    // Remembered a while, to name the task when the plugin calls complete() again.
    constexpr std::size_t remembered = 1024;
    if (finished_.size() == remembered) finished_.pop_front();
    finished_.push_back({a.run, a.task, false});
  }

  static const void* get_extension(const cascadence_host_t* host, const char* id) {
    if (id != nullptr && std::string_view(id) == CASCADENCE_HOST_EXECUTOR_ID) return &self(host).executor_;
    return nullptr;
  }

  static void log(const cascadence_host_t* host, std::int32_t level, const std::uint8_t* message, std::size_t len) {
    static constexpr std::string_view levels[] = {"debug", "info", "warning", "error"};
    const auto name = level >= 0 && level <= 3 ? levels[level] : std::string_view("log");
    self(host).write_log(name, text_of(message, len));
  }

  static void emit_result(const cascadence_host_t* host, cascadence_run_t run, const std::uint8_t* json,
                          std::size_t len) {
    auto& h = self(host);
    if (auto* now = immediate_of(h, run)) {
      now->result = std::string(text_of(json, len));
      return;
    }
    const std::lock_guard lock(h.mu_);
    if (auto a = h.find_locked(run, "emit_result")) a->result = std::string(text_of(json, len));
  }

  static void set_error(const cascadence_host_t* host, cascadence_run_t run, const std::uint8_t* message,
                        std::size_t len) {
    auto& h = self(host);
    if (auto* now = immediate_of(h, run)) {
      now->error = std::string(text_of(message, len));
      return;
    }
    const std::lock_guard lock(h.mu_);
    if (auto a = h.find_locked(run, "set_error")) a->error = std::string(text_of(message, len));
  }

  static void emit_output(const cascadence_host_t* host, cascadence_run_t run, std::int32_t stream,
                          const std::uint8_t* line, std::size_t len) {
    auto& h = self(host);
    const auto which = stream == CASCADENCE_OUTPUT_STDERR ? engine::output_stream::err : engine::output_stream::out;
    if (auto* now = immediate_of(h, run)) {
      if (!now->completed) now->ctx->emit_output(which, text_of(line, len));
      return;
    }
    std::shared_ptr<attempt> a;
    {
      const std::lock_guard lock(h.mu_);
      a = h.find_locked(run, "emit_output");
    }
    if (!a) return;
    if (inline_attempt == a.get()) {
      a->ctx->emit_output(which, text_of(line, len));
      return;
    }
    // The attempt outlives this post unless it completes first, from another thread: then `ctx` is null by
    // the time the line arrives and the line is dropped.
    // Posted under the mutex, before cancellation can release the loop (see cancel()): after it, lines are
    // dropped.
    const std::lock_guard lock(h.mu_);
    if (a->cancelled || a->completed) return;
    auto loop = a->loop;
    asio::post(loop, [a = std::move(a), which, text = std::string(text_of(line, len))] {
      if (a->ctx != nullptr) a->ctx->emit_output(which, text);
    });
  }

  static std::int32_t is_cancelled(const cascadence_host_t* host, cascadence_run_t run) {
    auto& h = self(host);
    if (immediate_of(h, run) != nullptr) return 0;
    const std::lock_guard lock(h.mu_);
    const auto it = h.runs_.find(run);
    return it != h.runs_.end() && it->second->cancelled ? 1 : 0;
  }

  static void complete(const cascadence_host_t* host, cascadence_run_t run, cascadence_status_t status) {
    auto& h = self(host);
    if (auto* now = immediate_of(h, run)) {
      if (now->completed) {
        h.write_log({}, "complete() called twice for run " + std::to_string(run) + " of task " +
                            std::string(now->ctx->task_name()) + " (ignored)");
        return;
      }
      now->completed = true;
      now->status = status;
      return;
    }
    std::shared_ptr<attempt> a;
    std::optional<completion> handler;
    {
      const std::lock_guard lock(h.mu_);
      a = h.find_locked(run, "complete");
      if (!a) return;
      h.finish_locked(*a);
      a->completed = true;
      a->status = status;
      if (a->cancelled) {
        // Accepted and discarded: the engine settled the attempt already, and the loop may be gone (a `task run`
        // that timed out and exited). The attempt may hold the last reference to its instance, whose destroy()
        // must not run on the plugin's own thread: it waits for the loop's next attempt to drop it.
        bury(std::move(a));
        return;
      }
      if (a->handler) {
        handler = std::move(a->handler);
        a->handler.reset();
      }
    }
    // No handler: the attempt's coroutine has not suspended yet and picks the outcome up itself.
    if (handler) deliver(a, std::move(*handler), completed_outcome(h.name(), status, a->result, a->error));
  }

  static cascadence_status_t submit(const cascadence_host_t* host, void (*fn)(void*), void* context) {
    auto& h = self(host);
    if (fn == nullptr || h.options_.pool == nullptr || h.stopping_.load()) return CASCADENCE_STATUS_UNAVAILABLE;
    asio::post(*h.options_.pool, [fn, context] { fn(context); });
    return CASCADENCE_STATUS_OK;
  }

  struct finished_run final {
    cascadence_run_t run;
    std::string task;
    bool logged;
  };

  mutable std::mutex mu_;
  std::string name_;
  in_process_options options_;
  std::atomic<bool> stopping_{false};
  cascadence_host_t host_{};
  cascadence_host_executor_t executor_{};
  std::unordered_map<cascadence_run_t, std::shared_ptr<attempt>> runs_;
  std::deque<finished_run> finished_;
  unsigned unknown_logged_ = 0;

  friend class plugin_processor;
};

// The host and the library of one in-process plugin; the library goes first (its deinit() may still log).
struct loaded final {
  std::unique_ptr<host_state> host;
  std::shared_ptr<library> lib;
  ~loaded() {
    host->stopping();
    lib.reset();
  }
};

// One task's processor instance; destroy()ed when the processor and every attempt that used it are gone.
class instance_handle final {
 public:
  instance_handle(std::shared_ptr<loaded> owner, void* instance) : owner_(std::move(owner)), instance_(instance) {}
  instance_handle(const instance_handle&) = delete;
  instance_handle& operator=(const instance_handle&) = delete;
  ~instance_handle() { owner_->lib->api().destroy(instance_); }

  [[nodiscard]] void* get() const noexcept { return instance_; }
  [[nodiscard]] host_state& host() const noexcept { return *owner_->host; }
  [[nodiscard]] const cascadence_plugin_t& api() const noexcept { return owner_->lib->api(); }

 private:
  std::shared_ptr<loaded> owner_;
  void* instance_;
};

class plugin_processor final : public engine::processor {
 public:
  plugin_processor(std::shared_ptr<instance_handle> instance, processor_descriptor which)
      : instance_(std::move(instance)), which_(std::move(which)) {}
  plugin_processor(const plugin_processor&) = delete;
  plugin_processor& operator=(const plugin_processor&) = delete;
  // Where graphs die: on the loop, or the thread that owns it.
  ~plugin_processor() override {
    instance_.reset();
    reap();
  }

  asio::awaitable<engine::outcome> run(engine::task_context& ctx) override {
    reap();
    auto& host = instance_->host();
    std::string input;
    ctx.append_input_json(input);
    auto a = std::make_shared<attempt>();
    a->run = next_run.fetch_add(1, std::memory_order_relaxed);
    a->task = std::string(ctx.task_name());
    a->instance = instance_;
    a->loop = co_await asio::this_coro::executor;
    a->ctx = &ctx;
    host.add(a);
    // The coroutine's frame may end before the plugin is done with the attempt (cancellation): `ctx` must not
    // outlive it.
    struct clear_ctx final {
      attempt& a;
      ~clear_ctx() { a.ctx = nullptr; }
    } const clear{*a};

    if (which_.blocking) {
      auto* pool = ctx.blocking_pool();
      if (pool == nullptr) {
        host.drop(a->run);
        co_return engine::outcome::failure("no thread pool was given for blocking processors");
      }
      // Named, not a temporary inside the co_await: GCC 12 frees such temporaries twice.
      auto on_pool = asio::async_initiate<decltype(asio::use_awaitable), void(engine::outcome)>(
          [this, a, pool, input](completion handler) mutable {
            wait(a, std::move(handler));
            asio::post(*pool, [this, a = std::move(a), input] {
              const auto status = instance_->api().start(instance_->get(), a->run, bytes_of(input));
              if (status != CASCADENCE_STATUS_OK) start_failed(a, status);
            });
          },
          asio::use_awaitable);
      auto out = co_await std::move(on_pool);
      co_return out;
    }

    inline_attempt = a.get();
    cascadence_status_t status = CASCADENCE_STATUS_INTERNAL;
    try {
      status = instance_->api().start(instance_->get(), a->run, bytes_of(input));
    } catch (...) {
      // A plugin broke the no-unwinding rule: the exception is reported, the run is not lost.
      inline_attempt = nullptr;
      host.drop(a->run);
      throw;
    }
    inline_attempt = nullptr;
    if (status != CASCADENCE_STATUS_OK) {
      std::string error;
      {
        const std::lock_guard lock(host.mutex());
        error = a->error;
      }
      host.drop(a->run);
      co_return refused_outcome(status, error);
    }
    bool completed = false;
    {
      // The fast path: complete() was called inside start() (or already from another thread). Nothing writes
      // a completed attempt any more, so its fields are read outside the lock.
      const std::lock_guard lock(host.mutex());
      completed = a->completed;
    }
    if (completed) co_return completed_outcome(host.name(), a->status, a->result, a->error);
    auto completed_later = asio::async_initiate<decltype(asio::use_awaitable), void(engine::outcome)>(
        [this, a](completion handler) mutable { wait(a, std::move(handler)); }, asio::use_awaitable);
    auto out = co_await std::move(completed_later);
    co_return out;
  }

 private:
  // Parks the handler until complete() or cancellation; runs on the loop.
  void wait(const std::shared_ptr<attempt>& a, completion handler) {
    auto& host = instance_->host();
    std::unique_lock lock(host.mutex());
    if (a->completed) {
      lock.unlock();
      host_state::deliver(a, std::move(handler), completed_outcome(host.name(), a->status, a->result, a->error));
      return;
    }
    auto slot = asio::get_associated_cancellation_slot(handler);
    if (slot.is_connected()) {
      slot.assign([this, weak = std::weak_ptr<attempt>(a)](asio::cancellation_type type) {
        if (type == asio::cancellation_type::none) return;
        if (auto a = weak.lock()) cancel(a);
      });
    }
    a->work = asio::prefer(a->loop, asio::execution::outstanding_work.tracked);
    a->handler = std::move(handler);
  }

  // The engine stopped the attempt (timeout, run cancelled): on the loop, inside the cancellation signal.
  void cancel(const std::shared_ptr<attempt>& a) {
    auto& host = instance_->host();
    std::optional<completion> handler;
    {
      const std::lock_guard lock(host.mutex());
      if (a->completed || !a->handler) return;
      a->cancelled = true;
      handler = std::move(a->handler);
      a->handler.reset();
    }
    if (auto* stop = instance_->api().cancel) stop(instance_->get(), a->run);
    // The engine records the attempt as cancelled or timed out whatever this says.
    host_state::deliver(a, std::move(*handler), engine::outcome::failure("cancelled"));
  }

  // start() on the pool refused the attempt.
  void start_failed(const std::shared_ptr<attempt>& a, cascadence_status_t status) {
    auto& host = instance_->host();
    std::optional<completion> handler;
    std::string error;
    {
      const std::lock_guard lock(host.mutex());
      error = a->error;
      if (a->handler) {
        handler = std::move(a->handler);
        a->handler.reset();
      }
    }
    host.drop(a->run);
    if (handler) host_state::deliver(a, std::move(*handler), refused_outcome(status, error));
  }

  std::shared_ptr<instance_handle> instance_;
  processor_descriptor which_;
};

// A processor whose descriptor says `immediate`: the engine calls run_now() inline, like its own immediate
// tasks, and start() completes the attempt before it returns (see immediate_attempt).
class immediate_plugin_processor final : public engine::immediate_processor {
 public:
  immediate_plugin_processor(std::shared_ptr<instance_handle> instance, processor_descriptor which)
      : instance_(std::move(instance)), which_(std::move(which)) {}
  immediate_plugin_processor(const immediate_plugin_processor&) = delete;
  immediate_plugin_processor& operator=(const immediate_plugin_processor&) = delete;
  ~immediate_plugin_processor() override {
    instance_.reset();
    reap();
  }

  engine::outcome run_now(engine::task_context& ctx) override {
    // One buffer a thread: an attempt's input is borrowed by start() only.
    thread_local std::string input;
    input.clear();
    ctx.append_input_json(input);
    auto& host = instance_->host();
    immediate_attempt a;
    a.host = &host;
    a.run = next_run.fetch_add(1, std::memory_order_relaxed);
    a.ctx = &ctx;
    // Restored on every way out, a plugin's exception included.
    struct scope final {
      immediate_attempt* saved;
      ~scope() { immediate_now = saved; }
    } const restore{std::exchange(immediate_now, &a)};
    const auto status = instance_->api().start(instance_->get(), a.run, bytes_of(input));
    if (status != CASCADENCE_STATUS_OK) return refused_outcome(status, a.error);
    if (!a.completed) {
      // A later complete() from another thread names a run nobody knows: it is logged and ignored.
      return engine::outcome::failure("plugin processor " + which_.name +
                                      " is declared immediate, but start() returned without completing");
    }
    if (a.status == CASCADENCE_STATUS_OK && !a.result) return engine::outcome::success();
    return completed_outcome(host.name(), a.status, a.result, a.error);
  }

 private:
  std::shared_ptr<instance_handle> instance_;
  processor_descriptor which_;
};

class in_process_provider final : public provider {
 public:
  explicit in_process_provider(std::shared_ptr<loaded> plugin) : plugin_(std::move(plugin)) {}

  const plugin_file& file() const noexcept override { return plugin_->lib->file(); }
  const plugin_descriptor& descriptor() const noexcept override { return plugin_->lib->descriptor(); }
  plugins::isolation isolation() const noexcept override { return isolation::in_process; }

  core::result<std::shared_ptr<engine::processor>, std::string> make_processor(
      const processor_descriptor& which, const boost::json::value& params) override {
    const auto text = boost::json::serialize(params);
    std::string error;
    cascadence_sink_t sink{};
    sink.struct_size = sizeof sink;
    sink.context = &error;
    sink.write = [](void* context, const std::uint8_t* ptr, std::size_t len) {
      static_cast<std::string*>(context)->append(text_of(ptr, len));
    };
    void* instance = nullptr;
    const auto status = plugin_->lib->api().create(
        which.index, {reinterpret_cast<const std::uint8_t*>(text.data()), text.size()}, &instance, &sink);
    if (status != CASCADENCE_STATUS_OK) {
      return error.empty() ? "create() refused the params with " + describe_status(status) : error;
    }
    auto handle = std::make_shared<instance_handle>(plugin_, instance);
    if (which.immediate) {
      return std::shared_ptr<engine::processor>(std::make_shared<immediate_plugin_processor>(std::move(handle), which));
    }
    return std::shared_ptr<engine::processor>(std::make_shared<plugin_processor>(std::move(handle), which));
  }

 private:
  std::shared_ptr<loaded> plugin_;
};

}  // namespace

std::size_t in_process_runs_pending() noexcept {
  return pending_runs.load(std::memory_order_relaxed);
}

core::result<std::shared_ptr<provider>, std::string> make_in_process_provider(const plugin_file& file,
                                                                              in_process_options options) {
  auto plugin = std::make_shared<loaded>();
  plugin->host = std::make_unique<host_state>(file.path.stem().string(), options);
  auto lib = library::open(file, plugin->host->host());
  if (!lib) {
    // No library: nothing to deinit, and the host may go.
    plugin->host->stopping();
    return std::move(lib.error());
  }
  plugin->lib = std::move(lib.value());
  plugin->host->set_name(plugin->lib->descriptor().name);
  return std::shared_ptr<provider>(std::make_shared<in_process_provider>(std::move(plugin)));
}

}  // namespace cascadence::plugins

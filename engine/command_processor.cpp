#include "engine/command_processor.hpp"

#include "engine/processor.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <spawn.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <array>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <optional>

extern char** environ;

namespace cascadence::engine {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using stream = asio::posix::stream_descriptor;

namespace {

[[noreturn]] void throw_errno(const char* what) {
  throw boost::system::system_error(errno, boost::system::system_category(), what);
}

// How often the exit of a child is polled when the kernel gives no pidfd
// (Linux before 5.3, or a seccomp filter that refuses pidfd_open). Not a
// timeout: the latency of noticing an exit on such systems.
constexpr std::chrono::milliseconds exit_poll_interval{10};

// A token for waits no cancellation may cut short (an empty slot).
auto uncancellable() {
  return asio::bind_cancellation_slot(asio::cancellation_slot(), asio::as_tuple(asio::use_awaitable));
}

// Whether a process of group `pgid` is alive (not a zombie), from /proc.
// Only asked once a command left processes behind, so the scan is rare.
bool group_has_live_member(pid_t pgid) noexcept {
  DIR* dir = ::opendir("/proc");
  if (dir == nullptr) return true;  // cannot tell: assume it is
  bool live = false;
  char path[sizeof(dirent::d_name) + 16];
  char buf[512];
  while (!live) {
    const dirent* e = ::readdir(dir);
    if (e == nullptr) break;
    if (e->d_name[0] < '1' || e->d_name[0] > '9') continue;
    std::snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
    const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    const auto n = ::read(fd, buf, sizeof buf - 1);
    ::close(fd);
    if (n <= 0) continue;
    buf[n] = '\0';
    // pid (comm) state ppid pgrp ...; comm may hold spaces and parentheses.
    const char* close_paren = std::strrchr(buf, ')');
    char state = 0;
    int ppid = 0;
    int pgrp = 0;
    if (close_paren == nullptr || std::sscanf(close_paren + 1, " %c %d %d", &state, &ppid, &pgrp) != 3) continue;
    live = pgrp == pgid && state != 'Z' && state != 'X';
  }
  ::closedir(dir);
  return live;
}

// Owns a spawned child. Its exit is awaited on the loop, never with a
// blocking waitpid(): a pidfd (readable once the child has exited) in an
// asio descriptor, or, without one, a timer polling with WNOHANG. Both are
// per child, so unlike a SIGCHLD handler (one per process, which a host or
// another library may own, and which would have to sort out whose child
// exited) they cannot interfere with anyone else's children. Until reap()
// the exited child stays a zombie, which keeps its pid, and so its process
// group id, from being reused while the group may still be signalled.
class child_process final {
 public:
  explicit child_process(asio::any_io_executor ex) : ex_(std::move(ex)) {}
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;
  ~child_process() {
    if (pid_ <= 0 || reaped_) return;
    // Only when the coroutine ends without having reaped the child. run()
    // kills and reaps it on the loop on every path but two: a frame
    // destroyed while suspended (an io_context destroyed with the task
    // running), where no loop is held up by this wait, and an exception
    // from that cleanup itself (out of memory).
    ::kill(-pid_, SIGKILL);
    int status = 0;
    while (::waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
  }

  void spawn(const command_spec& spec, const std::vector<std::string>& extra_env, int in, int out, int err) {
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_adddup2(&actions, in, 0);
    posix_spawn_file_actions_adddup2(&actions, out, 1);
    posix_spawn_file_actions_adddup2(&actions, err, 2);
    if (!spec.cwd.empty()) posix_spawn_file_actions_addchdir_np(&actions, spec.cwd.c_str());
    // Own process group (so the whole tree can be signalled), default
    // signal dispositions and an empty mask whatever the host did.
    sigset_t none;
    sigset_t defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGPIPE, SIGCHLD, SIGQUIT}) sigaddset(&defaults, sig);
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

    std::vector<char*> argv;
    argv.reserve(spec.argv.size() + 1);
    for (const auto& a : spec.argv) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    std::vector<char*> envp;
    envp.reserve(extra_env.size() + 1);
    for (const auto& e : extra_env) envp.push_back(const_cast<char*>(e.c_str()));
    for (char** e = environ; *e != nullptr; ++e) {
      const std::string_view entry(*e);
      const auto key = entry.substr(0, entry.find('=') + 1);
      bool overridden = false;
      for (const auto& x : extra_env) overridden = overridden || std::string_view(x).starts_with(key);
      if (!overridden) envp.push_back(*e);
    }
    envp.push_back(nullptr);

    const int rc = ::posix_spawnp(&pid_, argv[0], &actions, &attr, argv.data(), envp.data());
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) {
      pid_ = -1;
      throw std::runtime_error("cannot run '" + spec.argv[0] + "': " + std::strerror(rc));
    }
    // glibc 2.36's <sys/pidfd.h> lacks C linkage for C++; call the kernel
    // directly. Without a pidfd, exits are polled.
    const int fd = static_cast<int>(::syscall(SYS_pidfd_open, pid_, 0));
    if (fd < 0) return;
    try {
      pidfd_.emplace(ex_, fd);
    } catch (const boost::system::system_error&) {
      ::close(fd);
    }
  }

  /// Signals the child's process group: the child and what it started,
  /// also after the child itself was reaped, until the group is empty.
  void signal_group(int sig) noexcept {
    if (pid_ > 0 && !group_gone_ && ::kill(-pid_, sig) != 0 && errno == ESRCH && reaped_) group_gone_ = true;
  }

  /// Whether processes of the child's group are left running once the
  /// child was reaped (a command that put work in the background and
  /// exited). Linux keeps a pid from being reused while a process group of
  /// that id has a member, so the group is still the task's own. Members
  /// that are zombies awaiting a slow init do not count.
  [[nodiscard]] bool group_left() noexcept {
    signal_group(0);
    if (!reaped_ || group_gone_) return false;
    int status = 0;
    while (::waitpid(-pid_, &status, WNOHANG) > 0) {
    }
    if (!group_has_live_member(pid_)) group_gone_ = true;
    return !group_gone_;
  }

  /// Completes once the child has exited, leaving it to reap(); with
  /// operation_aborted when cancelled first.
  [[nodiscard]] asio::awaitable<boost::system::error_code> wait_exit() {
    if (pidfd_) {
      auto [ec] = co_await pidfd_->async_wait(stream::wait_read, asio::as_tuple(asio::use_awaitable));
      co_return ec;
    }
    asio::steady_timer timer(ex_);
    while (!exited()) {
      timer.expires_after(exit_poll_interval);
      auto [ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
      if (ec) co_return ec;
    }
    co_return boost::system::error_code{};
  }

  /// Waits for the child to exit and collects its status, without blocking
  /// the thread. Not cancellable: it follows an exit or a SIGKILL, so the
  /// wait is short, and the child must not outlive its task.
  /// Awaited with throw_if_cancelled(false).
  [[nodiscard]] asio::awaitable<void> reap() {
    if (!try_reap() && pidfd_) {
      auto [ec] = co_await pidfd_->async_wait(stream::wait_read, uncancellable());
      (void)ec;  // an error leaves the polling below to finish the job
    }
    asio::steady_timer timer(ex_);
    while (!try_reap()) {
      timer.expires_after(exit_poll_interval);
      auto [ec] = co_await timer.async_wait(uncancellable());
      (void)ec;
    }
  }

  /// The wait status collected by reap().
  [[nodiscard]] int status() const {
    if (wait_error_ != 0) throw boost::system::system_error(wait_error_, boost::system::system_category(), "waitpid");
    return status_;
  }

 private:
  // Whether the child has exited, without reaping it.
  [[nodiscard]] bool exited() const noexcept {
    siginfo_t info{};
    return ::waitid(P_PID, static_cast<id_t>(pid_), &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid != 0;
  }

  // Reaps the child if it has exited (WNOHANG). A child someone else reaped
  // (a host ignoring SIGCHLD) counts as reaped, with the error kept.
  bool try_reap() noexcept {
    if (reaped_) return true;
    int status = 0;
    pid_t rc = 0;
    do {
      rc = ::waitpid(pid_, &status, WNOHANG);
    } while (rc < 0 && errno == EINTR);
    if (rc == 0) return false;
    reaped_ = true;
    if (rc < 0) {
      wait_error_ = errno;
    } else {
      status_ = status;
    }
    return true;
  }

  asio::any_io_executor ex_;
  std::optional<stream> pidfd_;
  pid_t pid_ = -1;
  bool reaped_ = false;
  bool group_gone_ = false;
  int status_ = 0;
  int wait_error_ = 0;
};

struct pipe_pair {
  int read = -1;
  int write = -1;
};

pipe_pair make_pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) throw_errno("pipe2");
  return {fds[0], fds[1]};
}

void throw_if_aborted(const boost::system::error_code& ec) {
  if (ec == asio::error::operation_aborted) throw boost::system::system_error(ec);
}

// Cuts a stream of output into lines for the observers within the limits;
// `last` is the last line seen (shown or not), for a failure's message.
class line_cutter final {
 public:
  line_cutter(task_context& ctx, output_stream which, const output_limits& limits, std::string& last)
      : ctx_(ctx), which_(which), limits_(limits), last_(last) {}

  void feed(std::string_view chunk) {
    while (!chunk.empty()) {
      const auto nl = chunk.find('\n');
      const auto piece = chunk.substr(0, nl);
      if (!cutting_) {
        const std::size_t room = limits_.line_bytes - pending_.size();
        pending_.append(piece.substr(0, room));
        if (piece.size() > room) {
          pending_ += " [line truncated at " + std::to_string(limits_.line_bytes) + " bytes]";
          emit();
          cutting_ = true;  // the rest of this line is dropped
        }
      }
      if (nl == std::string_view::npos) return;
      if (!cutting_) emit();
      cutting_ = false;
      chunk.remove_prefix(nl + 1);
    }
  }

  void finish() {
    if (!cutting_ && !pending_.empty()) emit();
  }

 private:
  void emit() {
    last_ = pending_;
    pending_.clear();
    if (shown_ > limits_.stream_bytes) return;
    shown_ += last_.size() + 1;
    if (shown_ > limits_.stream_bytes) {
      ctx_.emit_output(which_, "[output truncated after " + std::to_string(limits_.stream_bytes) + " bytes]");
      return;
    }
    ctx_.emit_output(which_, last_);
  }

  task_context& ctx_;
  output_stream which_;
  const output_limits& limits_;
  std::string& last_;
  std::string pending_;
  bool cutting_ = false;
  std::size_t shown_ = 0;
};

// The pipes of one child: how many are still read, and whether the rest was
// given up (held open by a process that left the task's process group).
struct pipes_state final {
  explicit pipes_state(const asio::any_io_executor& ex) : drained(ex) {}
  int open = 3;
  bool abandoned = false;
  asio::steady_timer drained;  ///< cancelled once every pipe is done

  void done() {
    if (--open == 0) drained.cancel();
  }
  // An abort is a failure unless it is the giving up.
  void throw_if_aborted(const boost::system::error_code& ec) const {
    if (!abandoned) engine::throw_if_aborted(ec);
  }
};

// Reads a pipe to its end, handing out lines as they arrive and keeping up
// to `keep_limit` bytes of it in `keep` when not null.
asio::awaitable<void> pump(stream& pipe, task_context& ctx, output_stream which, const output_limits& limits,
                           std::string* keep, bool& truncated, std::string& last_line, pipes_state& pipes) {
  line_cutter lines(ctx, which, limits, last_line);
  char buf[8192];
  for (;;) {
    auto [ec, n] = co_await pipe.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
    pipes.throw_if_aborted(ec);
    if (n > 0) {
      const std::string_view chunk(buf, n);
      if (keep != nullptr) {
        const auto room = limits.keep_bytes > keep->size() ? limits.keep_bytes - keep->size() : 0;
        keep->append(chunk.substr(0, room));
        truncated = truncated || chunk.size() > room;
      }
      lines.feed(chunk);
    }
    if (ec) break;  // end of file, or the pipe broke: either way no more output
  }
  lines.finish();
  pipes.done();
}

asio::awaitable<void> feed(stream& pipe, std::string data, pipes_state& pipes) {
  auto [ec, n] = co_await asio::async_write(pipe, asio::buffer(data), asio::as_tuple(asio::use_awaitable));
  pipes.throw_if_aborted(ec);
  (void)n;  // a child that does not read its input closes the pipe: fine
  pipe.close();
  pipes.done();
}

// How long the pipes may stay open once the child and its whole process
// group are gone: only a process that left the group (setsid) holds them.
constexpr std::chrono::seconds abandon_pipes_after{1};

// Waits for the child to exit and reaps it. Processes it left in its group
// get SIGTERM, then SIGKILL once the kill grace is over, so nothing the task
// started outlives it; pipes still open after that are given up.
asio::awaitable<void> wait_exit(child_process& child, task_context& ctx, pipes_state& pipes,
                                std::array<stream*, 3> ends) {
  const auto ec = co_await child.wait_exit();
  throw_if_aborted(ec);
  if (ec) throw boost::system::system_error(ec, "waiting for child process");
  co_await child.reap();
  asio::steady_timer timer(co_await asio::this_coro::executor);
  if (child.group_left()) {
    ctx.emit_output(output_stream::err, "[the command exited leaving processes running: SIGTERM to its process group]");
    child.signal_group(SIGTERM);
    const auto deadline = std::chrono::steady_clock::now() + ctx.kill_grace();
    while (child.group_left() && std::chrono::steady_clock::now() < deadline) {
      timer.expires_after(exit_poll_interval);
      auto [wait_ec] = co_await timer.async_wait(asio::as_tuple(asio::use_awaitable));
      throw_if_aborted(wait_ec);
    }
    child.signal_group(SIGKILL);
  }
  if (pipes.open == 0) co_return;
  pipes.drained.expires_after(abandon_pipes_after);
  co_await pipes.drained.async_wait(asio::as_tuple(asio::use_awaitable));
  if (pipes.open == 0) co_return;
  // Woken by a timeout or cancellation of the task, not by the deadline:
  // the pipes stay; the attempt is being stopped anyway.
  const auto cancellation = co_await asio::this_coro::cancellation_state;
  if (cancellation.cancelled() != asio::cancellation_type::none) throw_if_aborted(asio::error::operation_aborted);
  pipes.abandoned = true;
  ctx.emit_output(output_stream::err,
                  "[output still held open by a process outside the task's group: not read further]");
  for (auto* end : ends) {
    if (end->is_open()) end->cancel();
  }
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    const char* name = ::sigabbrev_np(WTERMSIG(status));
    return "killed by signal " + std::to_string(WTERMSIG(status)) + (name ? std::string(" (SIG") + name + ")" : "");
  }
  return "ended with wait status " + std::to_string(status);
}

boost::json::value output_value(std::string text, bool truncated) {
  while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
  if (text.empty()) return nullptr;
  if (!truncated) {
    boost::system::error_code ec;
    auto parsed = boost::json::parse(text, ec);
    if (!ec) return parsed;
  }
  return boost::json::value(text);  // json::string copies from a string_view either way
}

class command_processor final : public processor {
 public:
  explicit command_processor(command_spec spec) : spec_(std::move(spec)) {
    // A child that exits without reading its input must not kill us with
    // SIGPIPE when we write to it; write errors are handled as values.
    static std::once_flag once;
    std::call_once(once, [] { std::signal(SIGPIPE, SIG_IGN); });
  }

  asio::awaitable<outcome> run(task_context& ctx) override {
    auto ex = co_await asio::this_coro::executor;
    if (spec_.argv.empty()) co_return outcome::failure("command is empty");

    const auto in = make_pipe();
    const auto out = make_pipe();
    const auto err = make_pipe();
    stream in_w(ex, in.write), out_r(ex, out.read), err_r(ex, err.read);
    child_process child(ex);
    {
      // The child's ends are closed here once spawned (or on failure).
      stream in_r(ex, in.read), out_w(ex, out.write), err_w(ex, err.write);
      const std::vector<std::string> env_extra = extra_env(ctx);
      child.spawn(spec_, env_extra, in.read, out.write, err.write);
    }

    std::string stdout_text;
    bool truncated = false;
    std::string last_out;
    std::string last_err;
    std::exception_ptr failure;
    pipes_state pipes(ex);
    try {
      co_await (pump(out_r, ctx, output_stream::out, spec_.limits, &stdout_text, truncated, last_out, pipes) &&
                pump(err_r, ctx, output_stream::err, spec_.limits, nullptr, truncated, last_err, pipes) &&
                feed(in_w, stdin_text(ctx), pipes) && wait_exit(child, ctx, pipes, {&out_r, &err_r, &in_w}));
    } catch (...) {
      failure = std::current_exception();
    }
    // From here on the child is only signalled, waited for and reaped: with
    // a cancellation pending, awaiting would throw instead.
    const bool throws = co_await asio::this_coro::throw_if_cancelled();
    co_await asio::this_coro::throw_if_cancelled(false);
    if (failure) {
      // Ask the coroutine, not the exception, whether the engine wants the
      // attempt stopped: a cancellation fails every operation of the group
      // above, and a group of several failures throws multiple_exceptions,
      // not the one operation_aborted error.
      const auto cancellation = co_await asio::this_coro::cancellation_state;
      const bool stopping = ctx.stop_requested() || cancellation.cancelled() != asio::cancellation_type::none;
      co_await terminate(child, stopping ? ctx.kill_grace() : std::chrono::milliseconds::zero());
      co_await asio::this_coro::throw_if_cancelled(throws);
      if (!stopping) std::rethrow_exception(failure);
      co_return outcome::failure("terminated");
    }
    co_await child.reap();
    co_await asio::this_coro::throw_if_cancelled(throws);
    const int status = child.status();
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
      co_return outcome::success(output_value(std::move(stdout_text), truncated));
    }
    auto message = describe_status(status);
    if (!last_err.empty()) message += ": " + last_err;
    co_return outcome::failure(std::move(message));
  }

 private:
  std::vector<std::string> extra_env(const task_context& ctx) const {
    std::vector<std::string> env;
    for (const auto& [k, v] : spec_.env) env.push_back(k + "=" + v);
    env.push_back("CASCADENCE_TASK=" + std::string(ctx.task_name()));
    env.push_back("CASCADENCE_RUN_ID=" + ctx.id().to_string());
    env.push_back("CASCADENCE_ATTEMPT=" + std::to_string(ctx.attempt()));
    if (const auto* e = ctx.event()) {
      env.push_back("CASCADENCE_EVENT_SOURCE=" + e->source);
      env.push_back("CASCADENCE_EVENT_TYPE=" + e->type);
      if (!e->delivery_id.empty()) env.push_back("CASCADENCE_DELIVERY_ID=" + e->delivery_id);
    }
    return env;
  }

  // An event-started run hands the child the event payload as is, so a
  // webhook script reads exactly what the sender posted.
  static std::string stdin_text(const task_context& ctx) {
    if (ctx.event() != nullptr) return boost::json::serialize(ctx.run_input()) + "\n";
    return boost::json::serialize(ctx.input()) + "\n";
  }

  // SIGTERM to the group, up to `grace` for the child to exit, then SIGKILL
  // to whatever is left of the group, and the child reaped. Runs after a
  // cancellation: the coroutine's cancellation state is reset to let the
  // grace run, and a second cancellation (a second Ctrl-C) ends it early.
  // Awaited with throw_if_cancelled(false).
  static asio::awaitable<void> terminate(child_process& child, std::chrono::milliseconds grace) {
    co_await asio::this_coro::reset_cancellation_state();
    if (grace.count() > 0) {
      child.signal_group(SIGTERM);
      asio::steady_timer timer(co_await asio::this_coro::executor, grace);
      auto first = co_await (child.wait_exit() || timer.async_wait(asio::as_tuple(asio::use_awaitable)));
      (void)first;
    }
    child.signal_group(SIGKILL);
    co_await child.reap();
  }

  command_spec spec_;
};

}  // namespace

std::shared_ptr<processor> make_command_processor(command_spec spec) {
  return std::make_shared<command_processor>(std::move(spec));
}

}  // namespace cascadence::engine

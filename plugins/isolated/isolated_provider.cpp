// isolation: process, the parent's side: one cascadence-plugin-host child per plugin, spoken to over the
// pipe protocol of protocol.hpp.
//
// Threads: one reader thread per child blocks in poll() on its standard output (frames) and standard error
// (free text). It never touches engine state: an attempt's output lines and its end are posted to the loop
// the attempt runs on. Writes to the child go through `write_mu_` and happen outside `mu_`, so a child
// blocked writing to us never holds up the reader that drains it. Lock order: write_mu_, then mu_.
//
// A child that dies fails the attempts in flight with how it died ("signal 11, SIGSEGV"); the next attempt
// or instance starts a new child and creates its instances there again. Restarts back off when children
// keep dying soon after they start.
#include "plugins/isolated/isolated_provider.hpp"

#include "engine/processor.hpp"
#include "plugins/isolated/protocol.hpp"
#include "plugins/outcome.hpp"

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/execution/outstanding_work.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/prefer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/json/value_to.hpp>

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <optional>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

namespace cascadence::plugins {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

using completion = asio::any_completion_handler<void(engine::outcome)>;
using clock = std::chrono::steady_clock;

// How long a child has to say hello or to answer a create, and to exit once its pipe is closed.
constexpr auto answer_timeout = 10s;
constexpr auto exit_grace = 3s;
// A child that lived shorter than this and died counts toward the back-off; the delay doubles from the
// first to the cap.
constexpr auto stable_after = 10s;
constexpr auto first_backoff = 100ms;
constexpr auto max_backoff = 5s;

// Run tokens are unique in the process, across plugins and children.
std::atomic<std::uint64_t> next_run{1};

// "signal 11, SIGSEGV" / "exit status 3".
std::string describe_exit(int status) {
  if (WIFSIGNALED(status)) {
    const int sig = WTERMSIG(status);
    const char* abbrev = ::sigabbrev_np(sig);
    return "signal " + std::to_string(sig) + (abbrev != nullptr ? std::string(", SIG") + abbrev : std::string());
  }
  if (WIFEXITED(status)) return "exit status " + std::to_string(WEXITSTATUS(status));
  return "wait status " + std::to_string(status);
}

std::string errno_text(const char* what) {
  return std::string(what) + ": " + std::strerror(errno);
}

void close_fd(int& fd) noexcept {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

// One attempt between its start frame and its complete frame. `handler` and `work` are guarded by the
// link's mutex; `ctx` is touched on the loop only.
struct attempt final {
  std::uint64_t run = 0;
  asio::any_io_executor loop;
  asio::any_io_executor work;  // keeps the loop running while the child has the attempt
  std::optional<completion> handler;
  engine::task_context* ctx = nullptr;
};

// Hands an attempt's outcome to its coroutine, on its loop. Called by whoever took the handler (under the
// link's mutex), so the attempt's work guard is this caller's too: it is let go only once post() has
// returned, so that the loop cannot run out of work, return and be destroyed while this thread is still
// inside post() (a reader thread would then touch a dead io_context).
void deliver(const std::shared_ptr<attempt>& a, completion handler, engine::outcome out) {
  const auto work = std::exchange(a->work, asio::any_io_executor());
  auto loop = a->loop;
  asio::post(loop, [a, handler = std::move(handler), out = std::move(out)]() mutable {
    auto slot = asio::get_associated_cancellation_slot(handler);
    if (slot.is_connected()) slot.clear();
    std::move(handler)(std::move(out));
  });
}

// A running cascadence-plugin-host: its pid and the parent's ends of its three descriptors.
struct child final {
  pid_t pid = -1;
  int in = -1;   // its standard input (a socket: writes never raise SIGPIPE, see send_all())
  int out = -1;  // its standard output: frames
  int err = -1;  // its standard error: free text
  std::uint64_t generation = 0;
  clock::time_point started;
  isolated::frame_reader frames;  // what the reader thread continues with after hello
  std::thread reader;

  child() = default;
  child(const child&) = delete;
  child& operator=(const child&) = delete;
  ~child() {
    close_fd(in);
    close_fd(out);
    close_fd(err);
  }
};

// Writes all of `bytes`; false when the child is gone.
bool send_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    const auto n = ::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

// Cuts text read from the child's standard error into lines.
class line_splitter final {
 public:
  template <typename Fn>
  void feed(const char* data, std::size_t size, Fn&& line) {
    pending_.append(data, size);
    std::size_t start = 0;
    for (auto nl = pending_.find('\n'); nl != std::string::npos; nl = pending_.find('\n', start)) {
      line(std::string_view(pending_).substr(start, nl - start));
      start = nl + 1;
    }
    pending_.erase(0, start);
  }
  template <typename Fn>
  void flush(Fn&& line) {
    if (!pending_.empty()) line(std::string_view(pending_));
    pending_.clear();
  }

 private:
  std::string pending_;
};

core::result<plugin_descriptor, std::string> descriptor_of_hello(const json::object& hello) {
  try {
    const auto& p = hello.at("plugin").as_object();
    plugin_descriptor d;
    d.name = json::value_to<std::string>(p.at("name"));
    d.version = json::value_to<std::string>(p.at("version"));
    d.runtime = json::value_to<std::string>(p.at("runtime"));
    d.description = json::value_to<std::string>(p.at("description"));
    d.unload_safe = p.at("unload_safe").as_bool();
    d.abi_major = json::value_to<unsigned>(p.at("abi_major"));
    d.abi_minor = json::value_to<unsigned>(p.at("abi_minor"));
    for (const auto& v : hello.at("processors").as_array()) {
      const auto& o = v.as_object();
      processor_descriptor pd;
      pd.index = json::value_to<std::uint32_t>(o.at("index"));
      pd.name = json::value_to<std::string>(o.at("name"));
      pd.description = json::value_to<std::string>(o.at("description"));
      pd.blocking = o.at("blocking").as_bool();
      // Told for `task plugins`; a round trip over the pipe is never inline.
      pd.immediate = o.at("immediate").as_bool();
      d.processors.push_back(std::move(pd));
    }
    return d;
  } catch (const std::exception& e) {
    return std::string("the plugin host's hello is malformed (") + e.what() + ")";
  }
}

// The state of one isolated plugin: its current child (if any) and what is in flight there. Shared by the
// provider, its instances and (weakly) the cancellation handlers of attempts.
class host_link final : public std::enable_shared_from_this<host_link> {
 public:
  host_link(plugin_file file, isolated_options options) : file_(std::move(file)), options_(std::move(options)) {
    name_ = file_.path.stem().string();
  }
  host_link(const host_link&) = delete;
  host_link& operator=(const host_link&) = delete;

  // Closing the child's input asks it to stop; its reader sees it exit (or kills it after the grace).
  ~host_link() {
    std::unique_ptr<child> last;
    std::vector<std::unique_ptr<child>> dead;
    {
      const std::lock_guard lock(mu_);
      stopping_ = true;
      last = std::move(child_);
      dead.swap(dead_);
    }
    if (last) {
      ::shutdown(last->in, SHUT_WR);
      if (last->reader.joinable()) last->reader.join();
    }
    for (auto& c : dead) {
      if (c->reader.joinable()) c->reader.join();
    }
  }

  // Starts the first child and reads its descriptor. Any thread.
  std::optional<std::string> start_first() {
    const std::lock_guard wlock(write_mu_);
    std::unique_lock lock(mu_);
    if (auto error = ensure_child_locked(lock, false)) return error;
    return std::nullopt;
  }

  [[nodiscard]] const plugin_file& file() const noexcept { return file_; }
  [[nodiscard]] const plugin_descriptor& descriptor() const noexcept { return descriptor_; }

  // Creates an instance in the child (starting one when none runs) and waits for its answer. Any thread but
  // a reader's. Returns the instance's id and the child's generation, or the plugin's message.
  core::result<std::pair<std::uint64_t, std::uint64_t>, std::string> create(std::uint32_t index,
                                                                            const std::string& params) {
    std::unique_lock wlock(write_mu_);
    std::unique_lock lock(mu_);
    if (auto error = ensure_child_locked(lock, false)) return std::move(*error);
    const auto id = next_instance_++;
    const auto generation = child_->generation;
    creates_.emplace(id, std::nullopt);
    const int fd = child_->in;
    lock.unlock();
    std::string frame;
    append_create(frame, id, index, params);
    const bool sent = send_all(fd, frame);
    wlock.unlock();
    lock.lock();
    if (sent) {
      answered_.wait_for(lock, answer_timeout, [&] { return creates_.at(id).has_value(); });
    }
    auto answer = std::move(creates_.at(id));
    creates_.erase(id);
    if (!answer) {
      return "plugin process for " + descriptor_.name + (sent ? " did not answer create within 10s" : " is gone");
    }
    if (!answer->empty()) return std::move(*answer);
    return std::make_pair(id, generation);
  }

  // The instance is gone: the child destroy()s it (when it is still the child that created it). Any thread.
  void destroy(std::uint64_t id, const std::uint64_t& generation) {
    const std::lock_guard wlock(write_mu_);
    int fd = -1;
    {
      const std::lock_guard lock(mu_);
      if (!child_ || child_->generation != generation) return;
      fd = child_->in;
    }
    std::string frame;
    isolated::append_frame(frame, R"({"op":"destroy","instance":)" + std::to_string(id) + "}");
    send_all(fd, frame);
  }

  // Sends the attempt to the child; its outcome reaches `handler` on the attempt's loop. On the loop.
  // `generation` is the child the instance was created in (guarded by mu_): a newer child creates it first.
  void start(std::uint64_t instance, std::uint64_t& generation, std::uint32_t index, const std::string& params,
             const std::shared_ptr<attempt>& a, const std::string& input, completion handler) {
    std::unique_lock wlock(write_mu_);
    std::unique_lock lock(mu_);
    if (auto error = ensure_child_locked(lock, true)) {
      lock.unlock();
      deliver(a, std::move(handler), engine::outcome::failure(std::move(*error)));
      return;
    }
    std::string frames;
    if (generation != child_->generation) {
      // The child that created the instance died: this one creates it again, from the same params. A
      // refusal now comes back as the start's complete ("unknown instance") and is logged with its reason.
      append_create(frames, instance, index, params);
      generation = child_->generation;
    }
    isolated::append_frame(frames, R"({"op":"start","instance":)" + std::to_string(instance) +
                                       ",\"run\":" + std::to_string(a->run) + ",\"input\":" + input + "}");
    auto slot = asio::get_associated_cancellation_slot(handler);
    if (slot.is_connected()) {
      slot.assign([weak = weak_from_this(), wa = std::weak_ptr<attempt>(a)](asio::cancellation_type type) {
        if (type == asio::cancellation_type::none) return;
        auto link = weak.lock();
        auto a = wa.lock();
        if (link && a) link->cancel(a);
      });
    }
    a->work = asio::prefer(a->loop, asio::execution::outstanding_work.tracked);
    a->handler = std::move(handler);
    runs_.emplace(a->run, a);
    const int fd = child_->in;
    lock.unlock();
    // A child that died meanwhile is noticed by its reader, which fails the attempt with how it died.
    send_all(fd, frames);
  }

 private:
  // `params` is JSON text already: the frame is put together around it, not parsed and printed again.
  static void append_create(std::string& frames, std::uint64_t id, std::uint32_t index, const std::string& params) {
    isolated::append_frame(frames, R"({"op":"create","instance":)" + std::to_string(id) +
                                       ",\"index\":" + std::to_string(index) + ",\"params\":" + params + "}");
  }

  // The engine stopped waiting (timeout, cancelled run): on the loop, inside the cancellation signal.
  void cancel(const std::shared_ptr<attempt>& a) {
    std::optional<completion> handler;
    int fd = -1;
    {
      const std::lock_guard lock(mu_);
      const auto it = runs_.find(a->run);
      if (it == runs_.end() || !a->handler) return;
      runs_.erase(it);
      handler = std::move(a->handler);
      a->handler.reset();
      if (child_) fd = child_->in;
    }
    if (fd >= 0) {
      const std::lock_guard wlock(write_mu_);
      std::string frame;
      isolated::append_frame(frame, R"({"op":"cancel","run":)" + std::to_string(a->run) + "}");
      send_all(fd, frame);
    }
    // The child's complete for the run comes later and is discarded.
    deliver(a, std::move(*handler), engine::outcome::failure("cancelled"));
  }

  void log(std::string_view level, std::string_view text) const {
    std::string line = "plugin " + descriptor_name() + ": ";
    if (!level.empty()) line.append(level).append(": ");
    line.append(text);
    write_log_line(options_.log, line);
  }

  [[nodiscard]] std::string descriptor_name() const { return descriptor_.name.empty() ? name_ : descriptor_.name; }

  // A child runs when this returns nullopt. With write_mu_ and mu_ held (`lock` is mu_'s); mu_ is let go
  // while the child starts. `backoff`: honour the restart delay (attempts do; loading and creating do not).
  std::optional<std::string> ensure_child_locked(std::unique_lock<std::mutex>& lock, bool backoff) {
    if (child_) return std::nullopt;
    if (stopping_) return "plugin " + descriptor_name() + " is unloading";
    const auto now = clock::now();
    if (backoff && now < restart_at_) {
      const auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(restart_at_ - now);
      return last_death_ + "; restarting in " + std::to_string(wait.count()) + "ms";
    }
    reap_dead_locked(lock);
    lock.unlock();
    auto started = spawn();
    lock.lock();
    if (!started) {
      ++quick_deaths_;
      restart_at_ = clock::now() + next_backoff();
      last_death_ = "plugin process for " + descriptor_name() + " did not start: " + started.error();
      return started.error();
    }
    child_ = std::move(started.value());
    child_->generation = ++generation_;
    child_->reader = std::thread([this, c = child_.get()] { read(*c); });
    return std::nullopt;
  }

  // Joins the readers of children that died (their threads are done or about to be). mu_ held, let go
  // while joining.
  void reap_dead_locked(std::unique_lock<std::mutex>& lock) {
    std::vector<std::unique_ptr<child>> dead;
    dead.swap(dead_);
    if (dead.empty()) return;
    lock.unlock();
    for (auto& c : dead) {
      if (c->reader.joinable()) c->reader.join();
    }
    lock.lock();
  }

  std::chrono::milliseconds next_backoff() {
    auto delay = first_backoff;
    for (unsigned i = 2; i < quick_deaths_ && delay < max_backoff; ++i) delay *= 2;
    return std::min<std::chrono::milliseconds>(delay, max_backoff);
  }

  [[nodiscard]] std::filesystem::path host_program() const {
    if (!options_.host_program.empty()) return options_.host_program;
    if (const char* env = std::getenv("CASCADENCE_PLUGIN_HOST"); env != nullptr && *env != '\0') return env;
    std::error_code ec;
    const auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    return (ec ? std::filesystem::path() : self.parent_path()) / "cascadence-plugin-host";
  }

  // posix_spawn()s a child and reads its hello (or its fatal). No lock held.
  core::result<std::unique_ptr<child>, std::string> spawn() {
    const auto program = host_program();
    if (::access(program.c_str(), X_OK) != 0) return errno_text(("plugin host " + program.string()).c_str());
    int in[2] = {-1, -1};
    int out[2] = {-1, -1};
    int err[2] = {-1, -1};
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, in) != 0) return errno_text("socketpair");
    if (::pipe2(out, O_CLOEXEC) != 0 || ::pipe2(err, O_CLOEXEC) != 0) {
      const auto why = errno_text("pipe2");
      for (int* fds : {in, out, err}) {
        close_fd(fds[0]);
        close_fd(fds[1]);
      }
      return why;
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[1], 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err[1], 2);
    posix_spawn_file_actions_addclosefrom_np(&actions, 3);
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none;
    sigset_t all;
    sigemptyset(&none);
    sigfillset(&all);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &all);
    // Its own process group: a Ctrl-C at the terminal reaches `task`, which stops its runs and then the
    // child, rather than killing the child under the runs.
    posix_spawnattr_setpgroup(&attr, 0);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
    const std::string program_text = program.string();
    const std::string path = file_.path.string();
    const std::string cached = file_.cached.string();
    std::vector<char*> argv{const_cast<char*>(program_text.c_str()), const_cast<char*>(path.c_str()),
                            const_cast<char*>(cached.c_str()), const_cast<char*>(file_.sha256.c_str()), nullptr};
    auto c = std::make_unique<child>();
    const int rc = ::posix_spawn(&c->pid, program_text.c_str(), &actions, &attr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    ::close(in[1]);
    ::close(out[1]);
    ::close(err[1]);
    c->in = in[0];
    c->out = out[0];
    c->err = err[0];
    if (rc != 0) {
      c->pid = -1;
      return "posix_spawn " + program_text + ": " + std::strerror(rc);
    }
    c->started = clock::now();
    auto hello = read_hello(*c);
    if (!hello) {
      stop_child(*c);
      return std::move(hello.error());
    }
    if (descriptor_.name.empty()) {
      descriptor_ = std::move(hello.value());
    } else if (hello.value().name != descriptor_.name ||
               hello.value().processors.size() != descriptor_.processors.size()) {
      // The cached file is content-addressed: the same bytes describe the same plugin.
      stop_child(*c);
      return "the restarted plugin host describes another plugin (" + hello.value().name + ")";
    }
    return c;
  }

  // Blocking, bounded: the first frame of a new child. Its standard error is logged meanwhile.
  core::result<plugin_descriptor, std::string> read_hello(child& c) {
    const auto deadline = clock::now() + answer_timeout;
    line_splitter errors;
    std::string stderr_text;
    const auto on_line = [&](std::string_view line) {
      log({}, line);
      stderr_text.append(line).push_back('\n');
    };
    bool out_open = true;
    for (;;) {
      if (auto frame = c.frames.next()) {
        json::error_code ec;
        auto v = json::parse(*frame, ec);
        if (ec || !v.is_object()) return std::string("the plugin host sent a frame that is not a JSON object");
        const auto& m = v.as_object();
        const auto* op = m.if_contains("op");
        if (op != nullptr && op->is_string() && op->as_string() == "fatal") {
          const auto* error = m.if_contains("error");
          return error != nullptr && error->is_string() ? std::string(error->as_string())
                                                        : std::string("the plugin host failed");
        }
        if (op != nullptr && op->is_string() && op->as_string() == "hello") return descriptor_of_hello(m);
        if (op != nullptr && op->is_string() && op->as_string() == "log") {
          log_frame(m);
          continue;
        }
        return std::string("the plugin host spoke before its hello");
      }
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock::now());
      if (left.count() <= 0) return std::string("the plugin host did not say hello within 10s");
      pollfd fds[2] = {{out_open ? c.out : -1, POLLIN, 0}, {c.err, POLLIN, 0}};
      const int n = ::poll(fds, 2, static_cast<int>(left.count()));
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return errno_text("poll");
      char buf[65536];
      if ((fds[1].revents & (POLLIN | POLLHUP)) != 0) {
        const auto got = ::read(c.err, buf, sizeof buf);
        if (got > 0) errors.feed(buf, static_cast<std::size_t>(got), on_line);
        if (got == 0) close_fd(c.err);
      }
      if ((fds[0].revents & (POLLIN | POLLHUP)) != 0) {
        const auto got = ::read(c.out, buf, sizeof buf);
        if (got > 0) {
          try {
            c.frames.feed(buf, static_cast<std::size_t>(got));
          } catch (const std::exception& e) {
            return std::string("the plugin host sent a bad frame (") + e.what() + ")";
          }
        } else if (got == 0) {
          out_open = false;
          // Gone before its hello: how it ended, with what it said.
          errors.flush(on_line);
          int status = 0;
          ::waitpid(c.pid, &status, 0);
          c.pid = -1;
          while (!stderr_text.empty() && stderr_text.back() == '\n') stderr_text.pop_back();
          return "the plugin host ended before its hello (" + describe_exit(status) + ")" +
                 (stderr_text.empty() ? "" : ": " + stderr_text);
        }
      }
    }
  }

  // Closes the child's input and reaps it, killing it after the grace. No lock held.
  static int stop_child(child& c) {
    ::shutdown(c.in, SHUT_WR);
    return reap(c);
  }

  // The exit status of a child that is exiting; SIGKILL after the grace. No lock held.
  static int reap(child& c) {
    if (c.pid < 0) return 0;
    int status = 0;
    const auto deadline = clock::now() + exit_grace;
    for (;;) {
      const auto r = ::waitpid(c.pid, &status, WNOHANG);
      if (r == c.pid || (r < 0 && errno != EINTR)) break;
      if (clock::now() >= deadline) {
        ::kill(c.pid, SIGKILL);
        ::waitpid(c.pid, &status, 0);
        break;
      }
      std::this_thread::sleep_for(5ms);
    }
    c.pid = -1;
    return status;
  }

  // The reader thread of child `c`: frames and error lines until the child closes its output.
  void read(child& c) {
    line_splitter errors;
    const auto on_line = [this](std::string_view line) { log({}, line); };
    std::string broken;
    char buf[65536];
    while (c.out >= 0) {
      pollfd fds[2] = {{c.out, POLLIN, 0}, {c.err, POLLIN, 0}};
      const int n = ::poll(fds, 2, -1);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) break;
      if ((fds[1].revents & (POLLIN | POLLHUP)) != 0) {
        const auto got = ::read(c.err, buf, sizeof buf);
        if (got > 0) errors.feed(buf, static_cast<std::size_t>(got), on_line);
        if (got == 0) close_fd(c.err);
      }
      if ((fds[0].revents & (POLLIN | POLLHUP | POLLERR)) == 0) continue;
      const auto got = ::read(c.out, buf, sizeof buf);
      if (got < 0 && errno == EINTR) continue;
      if (got <= 0) break;
      try {
        c.frames.feed(buf, static_cast<std::size_t>(got));
        while (auto frame = c.frames.next()) dispatch(*frame);
      } catch (const std::exception& e) {
        // A child that breaks the protocol is stopped like one that died.
        broken = std::string("it broke the pipe protocol: ") + e.what();
        ::kill(c.pid, SIGKILL);
        break;
      }
    }
    const bool asked = [&] {
      const std::lock_guard lock(mu_);
      return stopping_;
    }();
    const auto pid = c.pid;
    const int status = reap(c);
    // The rest of what it wrote on its standard error; bounded, since a process the plugin started may
    // hold the pipe open after the host is gone.
    while (c.err >= 0) {
      pollfd fd{c.err, POLLIN, 0};
      if (::poll(&fd, 1, 100) <= 0) break;
      const auto got = ::read(c.err, buf, sizeof buf);
      if (got > 0) {
        errors.feed(buf, static_cast<std::size_t>(got), on_line);
        continue;
      }
      if (got < 0 && errno == EINTR) continue;
      close_fd(c.err);
    }
    errors.flush(on_line);
    died(c, pid, broken.empty() ? describe_exit(status) : broken, asked);
  }

  // The child is gone: its attempts fail with how it died, waiting creates are answered, and the next
  // attempt starts another child. On the dead child's reader thread.
  void died(child& c, pid_t pid, const std::string& how, bool asked) {
    std::vector<std::pair<std::shared_ptr<attempt>, completion>> failed;
    std::string message;
    {
      const std::lock_guard lock(mu_);
      message = "plugin process for " + descriptor_name() + " " + (asked ? "stopped" : "died") + " (" + how + ")";
      for (auto& [run, a] : runs_) {
        if (a->handler) failed.emplace_back(a, std::move(*a->handler));
        a->handler.reset();
      }
      runs_.clear();
      for (auto& [id, answer] : creates_) {
        if (!answer) answer = message;
      }
      answered_.notify_all();
      if (child_.get() == &c) {
        const bool quick = clock::now() - c.started < stable_after;
        quick_deaths_ = quick ? quick_deaths_ + 1 : 0;
        // The first death restarts at once; one soon after the last restart waits, doubling to the cap.
        restart_at_ = quick_deaths_ <= 1 ? clock::now() : clock::now() + next_backoff();
        last_death_ = message;
        // Joined by the next start or the destructor. While stopping, the destructor took the child already.
        dead_.push_back(std::move(child_));
      }
    }
    if (!asked) {
      log({}, "host process " + std::to_string(pid) + " died (" + how + "); " + std::to_string(failed.size()) +
                  (failed.size() == 1 ? " attempt" : " attempts") + " in flight failed");
    }
    for (auto& [a, handler] : failed) deliver(a, std::move(handler), engine::outcome::failure(message));
  }

  // One frame from the child. On its reader thread.
  void dispatch(std::string_view text) {
    json::error_code ec;
    auto v = json::parse(text, ec);
    if (ec || !v.is_object()) throw std::runtime_error("a frame that is not a JSON object");
    auto& m = v.as_object();
    const auto* op_value = m.if_contains("op");
    if (op_value == nullptr || !op_value->is_string()) throw std::runtime_error("a frame without \"op\"");
    const std::string_view op = op_value->as_string();
    if (op == "complete") {
      complete(m);
    } else if (op == "output") {
      output(m);
    } else if (op == "log") {
      log_frame(m);
    } else if (op == "created" || op == "create_failed") {
      const auto id = m.at("instance").to_number<std::uint64_t>();
      const std::lock_guard lock(mu_);
      const auto it = creates_.find(id);
      if (it != creates_.end()) {
        it->second = op == "created" ? std::string() : std::string(m.at("error").as_string());
        answered_.notify_all();
      } else if (op == "create_failed") {
        // A re-creation after a restart (see start()): the attempt that needed it fails on its own.
        write_log_line(options_.log, "plugin " + descriptor_name() + ": create() refused again after a restart: " +
                                         std::string(m.at("error").as_string()));
      }
    } else {
      throw std::runtime_error("an unknown op \"" + std::string(op) + "\"");
    }
  }

  // host->log() in the child.
  void log_frame(const json::object& m) const {
    static constexpr std::string_view levels[] = {"debug", "info", "warning", "error"};
    const auto level = m.at("level").to_number<std::int64_t>();
    log(level >= 0 && level <= 3 ? levels[level] : std::string_view("log"), m.at("message").as_string());
  }

  void complete(const json::object& m) {
    const auto run = m.at("run").to_number<std::uint64_t>();
    std::shared_ptr<attempt> a;
    std::optional<completion> handler;
    {
      const std::lock_guard lock(mu_);
      const auto it = runs_.find(run);
      if (it == runs_.end()) return;  // cancelled: the engine settled it already
      a = std::move(it->second);
      runs_.erase(it);
      handler = std::move(a->handler);
      a->handler.reset();
    }
    if (!handler) return;
    const auto status = static_cast<cascadence_status_t>(m.at("status").to_number<std::int32_t>());
    std::string error;
    if (const auto* e = m.if_contains("error"); e != nullptr && e->is_string()) error = e->as_string();
    if (const auto* refused = m.if_contains("refused");
        refused != nullptr && refused->is_bool() && refused->as_bool()) {
      deliver(a, std::move(*handler), refused_outcome(status, error));
      return;
    }
    std::optional<std::string> result;
    if (const auto* r = m.if_contains("result"); r != nullptr && r->is_string()) result = std::string(r->as_string());
    deliver(a, std::move(*handler), completed_outcome(descriptor_name(), status, result, error));
  }

  void output(const json::object& m) {
    const auto run = m.at("run").to_number<std::uint64_t>();
    std::shared_ptr<attempt> a;
    // A share of the attempt's work guard, for the same reason as in deliver(): a cancellation on the loop
    // may settle the attempt while this thread posts.
    asio::any_io_executor work;
    {
      const std::lock_guard lock(mu_);
      const auto it = runs_.find(run);
      if (it == runs_.end()) return;
      a = it->second;
      work = a->work;
    }
    const auto which = m.at("stream").to_number<std::int32_t>() == CASCADENCE_OUTPUT_STDERR
                           ? engine::output_stream::err
                           : engine::output_stream::out;
    auto loop = a->loop;
    asio::post(loop, [a = std::move(a), which, line = std::string(m.at("line").as_string())] {
      if (a->ctx != nullptr) a->ctx->emit_output(which, line);
    });
  }

  const plugin_file file_;
  const isolated_options options_;
  std::string name_;
  plugin_descriptor descriptor_;  // set by the first child's hello, then read-only

  std::mutex write_mu_;
  mutable std::mutex mu_;
  std::condition_variable answered_;
  std::unique_ptr<child> child_;
  std::vector<std::unique_ptr<child>> dead_;
  std::uint64_t generation_ = 0;
  std::uint64_t next_instance_ = 1;
  std::unordered_map<std::uint64_t, std::shared_ptr<attempt>> runs_;
  std::unordered_map<std::uint64_t, std::optional<std::string>> creates_;  // "" created, else the refusal
  bool stopping_ = false;
  unsigned quick_deaths_ = 0;
  clock::time_point restart_at_{};
  std::string last_death_;
};

// One task's instance in the child; destroyed there when the processor goes.
class isolated_processor final : public engine::processor {
 public:
  isolated_processor(std::shared_ptr<host_link> link, processor_descriptor which, std::string params,
                     std::uint64_t instance, std::uint64_t generation)
      : link_(std::move(link)),
        which_(std::move(which)),
        params_(std::move(params)),
        instance_(instance),
        generation_(generation) {}
  isolated_processor(const isolated_processor&) = delete;
  isolated_processor& operator=(const isolated_processor&) = delete;
  ~isolated_processor() override { link_->destroy(instance_, generation_); }

  asio::awaitable<engine::outcome> run(engine::task_context& ctx) override {
    std::string input;
    ctx.append_input_json(input);
    auto a = std::make_shared<attempt>();
    a->run = next_run.fetch_add(1, std::memory_order_relaxed);
    a->loop = co_await asio::this_coro::executor;
    a->ctx = &ctx;
    // The child may still send lines after the frame ends (cancellation): `ctx` must not outlive it.
    struct clear_ctx final {
      attempt& a;
      ~clear_ctx() { a.ctx = nullptr; }
    } const clear{*a};
    // Named, not a temporary inside the co_await: GCC 12 frees such temporaries twice.
    auto in_child = asio::async_initiate<decltype(asio::use_awaitable), void(engine::outcome)>(
        [this, a, &input](completion handler) {
          link_->start(instance_, generation_, which_.index, params_, a, input, std::move(handler));
        },
        asio::use_awaitable);
    auto out = co_await std::move(in_child);
    co_return out;
  }

 private:
  std::shared_ptr<host_link> link_;
  processor_descriptor which_;
  std::string params_;
  std::uint64_t instance_;
  std::uint64_t generation_;  // the child the instance lives in: guarded by the link's mutex
};

class isolated_provider final : public provider {
 public:
  explicit isolated_provider(std::shared_ptr<host_link> link) : link_(std::move(link)) {}

  const plugin_file& file() const noexcept override { return link_->file(); }
  const plugin_descriptor& descriptor() const noexcept override { return link_->descriptor(); }
  plugins::isolation isolation() const noexcept override { return isolation::process; }

  core::result<std::shared_ptr<engine::processor>, std::string> make_processor(
      const processor_descriptor& which, const boost::json::value& params) override {
    auto text = json::serialize(params);
    auto made = link_->create(which.index, text);
    if (!made) return std::move(made.error());
    return std::shared_ptr<engine::processor>(
        std::make_shared<isolated_processor>(link_, which, std::move(text), made.value().first, made.value().second));
  }

 private:
  std::shared_ptr<host_link> link_;
};

}  // namespace

core::result<std::shared_ptr<provider>, std::string> make_isolated_provider(const plugin_file& file,
                                                                            isolated_options options) {
  auto link = std::make_shared<host_link>(file, std::move(options));
  if (auto error = link->start_first()) {
    // The host's fatal names the path already.
    return error->starts_with(file.path.string() + ":") ? std::move(*error) : file.path.string() + ": " + *error;
  }
  return std::shared_ptr<provider>(std::make_shared<isolated_provider>(std::move(link)));
}

}  // namespace cascadence::plugins

#include "engine/command_processor.hpp"
#include "engine/graph.hpp"
#include "engine/observer.hpp"
#include "engine/runner.hpp"
#include "tests/support/run_async.hpp"

#include <doctest/doctest.h>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>

#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

using namespace cascadence::engine;
using cascadence::test::run_async;
using namespace std::chrono_literals;

namespace {

command_spec sh(std::string script) {
  return command_spec{{"/bin/sh", "-c", std::move(script)}, {}, {}};
}

struct output_lines final : observer {
  std::vector<std::string> out, err;
  void on_task_output(const graph&, const task_record&, output_stream s, std::string_view line) override {
    (s == output_stream::out ? out : err).emplace_back(line);
  }
};

run_report run_one(command_spec spec, task_settings settings = {}, observer* obs = nullptr,
                   boost::json::value input = nullptr, std::chrono::milliseconds kill_grace = 200ms,
                   run_canceller* canceller = nullptr) {
  graph_builder b;
  b.add({"cmd", make_command_processor(std::move(spec)), std::move(settings)});
  auto g = (std::move(b).build()).value();
  run_options opts;
  opts.kill_grace = kill_grace;
  opts.input = std::move(input);
  if (obs != nullptr) opts.observers.push_back(obs);
  const task_id id = 0;
  return run_async(run_graph(g, std::span<const task_id>(&id, 1), std::move(opts), canceller));
}

// Cancels the run (as Ctrl-C does) once the child wrote the line "ready":
// by then the child has set up its signal handling.
struct cancel_when_ready final : observer {
  run_canceller canceller;
  std::chrono::steady_clock::time_point cancelled_at{};
  void on_task_output(const graph&, const task_record&, output_stream, std::string_view line) override {
    if (line != "ready") return;
    cancelled_at = std::chrono::steady_clock::now();
    canceller.cancel("SIGINT");
  }
};

std::filesystem::path temp_file(const std::string& what) {
  auto path = std::filesystem::temp_directory_path() / ("cascadence-test-" + what + "-" + std::to_string(::getpid()));
  std::filesystem::remove(path);
  return path;
}

std::string read_file(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::string text;
  std::getline(in, text);
  return text;
}

// Every waitpid() of this executable comes here (the engine is a static
// library: the link resolves its calls to this definition). The engine must
// never make a blocking one: the loop would stop until the kernel had torn
// the child down.
std::atomic<int> blocking_waitpid_calls{0};

// A process counts as gone once it no longer exists or is a zombie (in a
// container without an init that reaps orphans, zombies linger). SIGKILL is
// delivered asynchronously, so give the kernel a moment.
bool process_gone(pid_t pid) {
  for (int i = 0; i < 200; ++i) {
    std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
    std::string pid_field, comm, state;
    if (!(stat >> pid_field >> comm >> state) || state == "Z") return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

}  // namespace

extern "C" pid_t waitpid(pid_t pid, int* status, int options) {
  if ((options & WNOHANG) == 0) ++blocking_waitpid_calls;
  return static_cast<pid_t>(::syscall(SYS_wait4, pid, status, options, nullptr));
}

TEST_CASE("standard output that parses as JSON becomes the output value" * doctest::timeout(10)) {
  auto report = run_one(sh(R"(echo '{"n": 3}')"));
  REQUIRE(report.succeeded());
  CHECK(report.records[0].output == boost::json::parse(R"({"n": 3})"));
}

TEST_CASE("other standard output becomes a string, streamed line by line" * doctest::timeout(10)) {
  output_lines lines;
  auto report = run_one(sh("echo one; echo two >&2; printf three"), {}, &lines);
  REQUIRE(report.succeeded());
  CHECK(report.records[0].output == boost::json::value("one\nthree"));
  CHECK(lines.out == std::vector<std::string>{"one", "three"});
  CHECK(lines.err == std::vector<std::string>{"two"});
}

TEST_CASE("a line longer than the line limit is shown cut, and the rest of it dropped" * doctest::timeout(20)) {
  auto spec = sh("head -c 100000 /dev/zero | tr '\\0' a; echo; echo next; head -c 5000 /dev/zero | tr '\\0' b");
  spec.limits.line_bytes = 1000;
  output_lines lines;
  auto report = run_one(spec, {}, &lines);
  REQUIRE(report.succeeded());
  REQUIRE(lines.out.size() == 3);
  CHECK(lines.out[0] == std::string(1000, 'a') + " [line truncated at 1000 bytes]");
  CHECK(lines.out[1] == "next");
  CHECK(lines.out[2] == std::string(1000, 'b') + " [line truncated at 1000 bytes]");
  // The output value keeps the text as written, within its own limit.
  CHECK(report.records[0].output.as_string().size() == 100000 + 1 + 5 + 5000);
}

TEST_CASE("output without a newline costs the line limit, not its size" * doctest::timeout(60)) {
  // 64 MiB in one line: read to the end at pipe speed, shown as one cut line.
  auto spec = sh("head -c 67108864 /dev/zero | tr '\\0' a; echo done >&2");
  spec.limits.keep_bytes = 10;
  output_lines lines;
  auto report = run_one(spec, {}, &lines);
  REQUIRE(report.succeeded());
  REQUIRE(lines.out.size() == 1);
  CHECK(lines.out[0].size() == (64U << 10U) + std::string(" [line truncated at 65536 bytes]").size());
  CHECK(lines.err == std::vector<std::string>{"done"});
  CHECK(report.records[0].output == boost::json::value("aaaaaaaaaa"));
}

TEST_CASE("past the stream limit one line says so and the rest is not shown" * doctest::timeout(20)) {
  auto spec = sh("i=0; while [ $i -lt 100 ]; do echo line$i; echo err$i >&2; i=$((i+1)); done; exit 3");
  spec.limits.stream_bytes = 50;  // "lineN\n" is 6 bytes: 8 lines fit
  output_lines lines;
  auto report = run_one(spec, {}, &lines);
  REQUIRE_FALSE(report.succeeded());
  REQUIRE(lines.out.size() == 9);
  CHECK(lines.out[7] == "line7");
  CHECK(lines.out[8] == "[output truncated after 50 bytes]");
  CHECK(lines.err.back() == "[output truncated after 50 bytes]");
  // The failure still names the last error line written, shown or not.
  CHECK(report.records[0].error == "exited with status 3: err99");
}

TEST_CASE("an argv command runs without a shell and reads its input JSON on stdin" * doctest::timeout(10)) {
  auto report = run_one(command_spec{{"cat"}, {}, {}}, {}, nullptr, boost::json::value("hello"));
  REQUIRE(report.succeeded());
  const auto& out = report.records[0].output;
  CHECK(out.at("task") == "cmd");
  CHECK(out.at("input") == "hello");
}

TEST_CASE("the environment names the task, the run and the attempt" * doctest::timeout(10)) {
  command_spec spec = sh(R"(printf '%s %s %s' "$CASCADENCE_TASK" "$CASCADENCE_ATTEMPT" "$EXTRA")");
  spec.env["EXTRA"] = "x";
  auto report = run_one(spec);
  CHECK(report.records[0].output == boost::json::value("cmd 1 x"));
}

TEST_CASE("a non-zero exit fails with the status and the last error line" * doctest::timeout(10)) {
  auto report = run_one(sh("echo 'disk full' >&2; exit 3"));
  CHECK(report.records[0].status == run_status::failed);
  CHECK(report.records[0].error == "exited with status 3: disk full");
}

TEST_CASE("a program that does not exist fails with a clear error" * doctest::timeout(10)) {
  auto report = run_one(command_spec{{"/nonexistent/program"}, {}, {}});
  CHECK(report.records[0].status == run_status::failed);
  CHECK(report.records[0].error == "cannot run '/nonexistent/program': No such file or directory");
}

TEST_CASE("a timeout terminates the whole process group" * doctest::timeout(20)) {
  const auto pidfile = std::filesystem::temp_directory_path() / ("cascadence-test-" + std::to_string(::getpid()));
  task_settings s;
  s.timeout = 300ms;
  // The grandchild ignores SIGTERM: only the SIGKILL after the grace ends it.
  auto report = run_one(sh("sh -c 'trap \"\" TERM; echo $$ > " + pidfile.string() + "; sleep 30' & wait"), s);
  CHECK(report.records[0].status == run_status::timed_out);
  std::ifstream in(pidfile);
  pid_t grandchild = 0;
  in >> grandchild;
  REQUIRE(grandchild > 0);
  CHECK(process_gone(grandchild));
  std::filesystem::remove(pidfile);
}

namespace {
pid_t pid_in(const std::filesystem::path& pidfile) {
  std::ifstream in(pidfile);
  pid_t pid = 0;
  in >> pid;
  return pid;
}
}  // namespace

TEST_CASE("processes a command leaves in the background end with it, holding its output or not" *
          doctest::timeout(20)) {
  const auto pidfile = temp_file("background");
  for (const char* redirect : {"", " >/dev/null 2>&1 </dev/null"}) {
    CAPTURE(redirect);
    output_lines lines;
    // Without the fix the run lasted as long as the background sleep.
    auto report = run_one(sh(std::string("sleep 43") + redirect + " & echo $! > " + pidfile.string() + "; echo ok"), {},
                          &lines, nullptr, 5s);
    REQUIRE(report.succeeded());
    CHECK(lines.out == std::vector<std::string>{"ok"});
    CHECK(lines.err ==
          std::vector<std::string>{"[the command exited leaving processes running: SIGTERM to its process group]"});
    const pid_t background = pid_in(pidfile);
    REQUIRE(background > 0);
    CHECK(process_gone(background));
  }
  std::filesystem::remove(pidfile);
}

TEST_CASE("a background process that ignores SIGTERM is killed once the kill grace is over" * doctest::timeout(20)) {
  const auto pidfile = temp_file("stubborn");
  auto report =
      run_one(sh("sh -c 'trap \"\" TERM; while :; do sleep 1; done' >/dev/null 2>&1 & echo $! > " + pidfile.string()),
              {}, nullptr, nullptr, 300ms);
  REQUIRE(report.succeeded());
  const pid_t background = pid_in(pidfile);
  REQUIRE(background > 0);
  CHECK(process_gone(background));
  std::filesystem::remove(pidfile);
}

TEST_CASE("output held open by a process that left the task's group is given up, not waited for" *
          doctest::timeout(20)) {
  const auto pidfile = temp_file("escaped");
  output_lines lines;
  auto report =
      run_one(sh("setsid sh -c 'echo $$ > " + pidfile.string() + "; exec sleep 30' & sleep 0.3; echo x"), {}, &lines);
  REQUIRE(report.succeeded());
  CHECK(lines.out == std::vector<std::string>{"x"});
  CHECK(lines.err ==
        std::vector<std::string>{"[output still held open by a process outside the task's group: not read further]"});
  const pid_t escaped = pid_in(pidfile);
  REQUIRE(escaped > 0);
  ::kill(escaped, SIGKILL);  // outside the group: the task's to document, the test's to clean
  std::filesystem::remove(pidfile);
}

TEST_CASE("an event-started run gives the child the payload alone and names the event in the environment") {
  graph_builder b;
  b.add({"cmd", make_command_processor(sh("cat; echo \"$CASCADENCE_EVENT_SOURCE/$CASCADENCE_EVENT_TYPE\"")), {}});
  auto g = (std::move(b).build()).value();
  run_options opts;
  opts.input = boost::json::parse(R"({"ref":"main"})");
  opts.event = run_event{"github", "push"};
  const task_id id = 0;
  const auto report = run_async(run_graph(g, std::span<const task_id>(&id, 1), std::move(opts)));
  REQUIRE(report.succeeded());
  const auto& out = report.records.at(0).output;
  REQUIRE(out.is_string());
  CHECK(out.as_string() == "{\"ref\":\"main\"}\ngithub/push");
}

TEST_CASE("a timed-out child gets SIGTERM first and its TERM trap runs within the kill grace" * doctest::timeout(20)) {
  const auto file = temp_file("trap-timeout");
  task_settings s;
  s.timeout = 1s;
  // The grace is longer than the test may take: the engine must see the
  // child exit instead of waiting the grace out.
  auto report = run_one(sh("trap 'echo cleaned up > " + file.string() + "; exit 0' TERM; sleep 30 & wait"), s, nullptr,
                        nullptr, 60s);
  CHECK(report.records[0].status == run_status::timed_out);
  CHECK(read_file(file) == "cleaned up");
  std::filesystem::remove(file);
}

TEST_CASE("a cancelled run sends the child SIGTERM first and its TERM trap runs" * doctest::timeout(20)) {
  const auto file = temp_file("trap-cancel");
  cancel_when_ready obs;
  auto report = run_one(sh("trap 'echo cleaned up > " + file.string() + "; exit 0' TERM; echo ready; sleep 30 & wait"),
                        {}, &obs, nullptr, 60s, &obs.canceller);
  CHECK(report.records[0].status == run_status::cancelled);
  CHECK(report.records[0].error == "cancelled: SIGINT");
  CHECK(read_file(file) == "cleaned up");
  std::filesystem::remove(file);
}

TEST_CASE("a child that ignores SIGTERM is killed once the kill grace is over" * doctest::timeout(20)) {
  const auto pidfile = temp_file("ignore-term");
  constexpr auto grace = 1s;
  cancel_when_ready obs;
  auto report = run_one(sh("trap '' TERM; echo $$ > " + pidfile.string() + "; echo ready; exec sleep 30"), {}, &obs,
                        nullptr, grace, &obs.canceller);
  const auto ended = std::chrono::steady_clock::now();
  CHECK(report.records[0].status == run_status::cancelled);
  // Not before the grace: a lower bound only, which a slow machine cannot break.
  CHECK(ended - obs.cancelled_at >= grace);
  pid_t child = 0;
  std::ifstream(pidfile) >> child;
  REQUIRE(child > 0);
  CHECK(process_gone(child));
  std::filesystem::remove(pidfile);
}

TEST_CASE("children are reaped without a blocking wait, whether they exit or are killed" * doctest::timeout(20)) {
  const int before = blocking_waitpid_calls.load();
  CHECK(run_one(sh("exit 0")).succeeded());
  CHECK(run_one(sh("exit 4")).records[0].error == "exited with status 4");
  task_settings s;
  s.timeout = 300ms;
  CHECK(run_one(sh("trap '' TERM; exec sleep 30"), s).records[0].status == run_status::timed_out);
  cancel_when_ready obs;
  CHECK(run_one(sh("echo ready; exec sleep 30"), {}, &obs, nullptr, 200ms, &obs.canceller).records[0].status ==
        run_status::cancelled);
  CHECK(blocking_waitpid_calls.load() == before);
}

// isolation: process end to end below the CLI: a real cascadence-plugin-host child per plugin, the test
// plugins in it, runs through the engine.
#include "engine/graph.hpp"
#include "engine/observer.hpp"
#include "engine/runner.hpp"
#include "plugins/isolated/isolated_provider.hpp"
#include "plugins/library.hpp"
#include "tests/support/run_async.hpp"
#include "tests/unit/plugins/test_plugins.hpp"

#include <doctest/doctest.h>
#include <boost/json/parse.hpp>

#include <chrono>
#include <mutex>
#include <sstream>
#include <streambuf>
#include <string>
#include <vector>

using namespace cascadence::plugins;
using namespace cascadence::engine;
using cascadence::test::run_async;
using cascadence::test::scratch_dir;
using cascadence::test::test_plugin;
using namespace std::chrono_literals;

namespace {

// A log stream the children's reader threads write to while the test reads it.
class shared_log final : public std::streambuf {
 public:
  std::ostream out{this};
  std::string text() const {
    const std::lock_guard lock(mu_);
    return text_;
  }

 protected:
  int_type overflow(int_type c) override {
    if (c == traits_type::eof()) return traits_type::not_eof(c);
    const std::lock_guard lock(mu_);
    text_.push_back(traits_type::to_char_type(c));
    return c;
  }
  std::streamsize xsputn(const char* s, std::streamsize n) override {
    const std::lock_guard lock(mu_);
    text_.append(s, static_cast<std::size_t>(n));
    return n;
  }

 private:
  mutable std::mutex mu_;
  std::string text_;
};

struct isolated_plugin final {
  scratch_dir cache;
  shared_log log;
  std::shared_ptr<provider> p;

  explicit isolated_plugin(const std::string& name) {
    auto file = stage(test_plugin(name), cache.path());
    REQUIRE(file.has_value());
    auto made = make_isolated_provider(file.value(), {CASCADENCE_PLUGIN_HOST_PROGRAM, &log.out});
    REQUIRE_MESSAGE(made.has_value(), made.error());
    p = made.value();
  }

  std::shared_ptr<processor> make(const std::string& name, const std::string& params = "null") {
    for (const auto& d : p->descriptor().processors) {
      if (d.name == p->descriptor().name + "." + name) {
        auto made = p->make_processor(d, boost::json::parse(params));
        REQUIRE_MESSAGE(made.has_value(), made.error());
        return made.value();
      }
    }
    FAIL("no processor " << name);
    return nullptr;
  }
};

struct lines_observer final : observer {
  std::vector<std::string> lines;
  void on_task_output(const graph&, const task_record&, output_stream stream, std::string_view line) override {
    lines.push_back((stream == output_stream::err ? "err: " : "out: ") + std::string(line));
  }
};

// Runs every task of a graph of independent tasks at once.
std::vector<task_record> run_all(std::vector<std::pair<std::string, std::shared_ptr<processor>>> tasks,
                                 run_options options = {}, std::chrono::milliseconds timeout = {}) {
  graph_builder b;
  std::vector<task_id> ids;
  for (auto& [name, proc] : tasks) {
    task_settings s;
    if (timeout.count() > 0) s.timeout = timeout;
    ids.push_back(b.add({name, std::move(proc), std::move(s)}));
  }
  auto g = std::move(b).build();
  REQUIRE(g.has_value());
  return run_async(run_graph(g.value(), ids, std::move(options))).records;
}

task_record run_one(const std::string& name, std::shared_ptr<processor> proc, run_options options = {},
                    std::chrono::milliseconds timeout = {}) {
  auto records = run_all({{name, std::move(proc)}}, std::move(options), timeout);
  REQUIRE(records.size() == 1);
  return records[0];
}

}  // namespace

TEST_CASE("an isolated plugin describes itself from its host process" * doctest::timeout(30)) {
  isolated_plugin good("good");
  CHECK(good.p->isolation() == isolation::process);
  CHECK(good.p->descriptor().name == "good");
  CHECK(good.p->descriptor().runtime == "cpp");
  CHECK(good.p->descriptor().processors.size() == 13);
  CHECK(good.p->descriptor().processors.at(9).blocking);
  // init()'s log line came through the pipe, with the plugin's name in front.
  CHECK(good.log.text().find("plugin good: info: init\n") != std::string::npos);
}

TEST_CASE("an isolated plugin's result, output lines and failures reach the run" * doctest::timeout(30)) {
  isolated_plugin good("good");
  lines_observer lines;
  run_options opts;
  opts.observers.push_back(&lines);
  opts.input = boost::json::parse(R"({"n": 1})");
  const auto rec = run_one("echoer", good.make("echo", R"({"greeting": "hi"})"), std::move(opts));
  CHECK(rec.status == run_status::success);
  CHECK(rec.output ==
        boost::json::parse(
            R"({"params": {"greeting": "hi"}, "input": {"task": "echoer", "input": {"n": 1}, "dependencies": {}}})"));
  CHECK(lines.lines == std::vector<std::string>{R"(out: echo {"greeting":"hi"})"});

  const auto failed = run_one("fail", good.make("fail"));
  CHECK(failed.status == run_status::failed);
  CHECK(failed.error == "INTERNAL: boom");

  const auto refused = run_one("refuse", good.make("refuse_start"));
  CHECK(refused.status == run_status::failed);
  CHECK(refused.error == "this input is refused");

  const auto delayed = run_one("delay", good.make("delay", R"({"ms": 20})"));
  CHECK(delayed.status == run_status::success);
  CHECK(delayed.output == boost::json::parse(R"({"version": 1, "slept_ms": 20})"));

  const auto blocking = run_one("blocking", good.make("blocking", R"({"ms": 10})"));
  CHECK(blocking.status == run_status::success);
}

TEST_CASE("create() refusing an isolated plugin's params is the plugin's message" * doctest::timeout(30)) {
  isolated_plugin good("good");
  const auto& d = good.p->descriptor().processors.at(1);
  auto made = good.p->make_processor(d, boost::json::parse(R"({"bad": true})"));
  REQUIRE_FALSE(made.has_value());
  CHECK(made.error() == "params.bad is not allowed");
}

TEST_CASE("the host's timeout cancels an attempt in the plugin process" * doctest::timeout(30)) {
  isolated_plugin good("good");
  const auto slow = run_one("slow", good.make("delay", R"({"ms": 60000})"), {}, 50ms);
  CHECK(slow.status == run_status::timed_out);
  const auto hang = run_one("hang", good.make("hang"), {}, 50ms);
  CHECK(hang.status == run_status::timed_out);
  // The child is still there and serves the next attempt.
  const auto next = run_one("noop", good.make("noop"));
  CHECK(next.status == run_status::success);
}

TEST_CASE("a plugin that segfaults fails its attempts in flight and the next attempt gets a new process" *
          doctest::timeout(30)) {
  isolated_plugin crashy("crashy");
  auto ok = crashy.make("ok");
  auto segv = crashy.make("segv");
  auto hang = crashy.make("hang");
  REQUIRE(run_one("ok", ok).status == run_status::success);

  // The hanging attempt is in flight in the same process when the other one crashes it.
  const auto records = run_all({{"hang", hang}, {"segv", segv}});
  REQUIRE(records.size() == 2);
  for (const auto& rec : records) {
    CHECK(rec.status == run_status::failed);
    CHECK(rec.error == "plugin process for crashy died (signal 11, SIGSEGV)");
  }
  CHECK(crashy.log.text().find(" died (signal 11, SIGSEGV); 2 attempts in flight failed\n") != std::string::npos);

  // The instances made before the crash are created again in the new process.
  const auto after = run_one("ok", ok);
  CHECK(after.status == run_status::success);
  CHECK(after.output == boost::json::parse(R"({"ok": true})"));
}

TEST_CASE("a plugin that aborts is reported with SIGABRT" * doctest::timeout(30)) {
  isolated_plugin crashy("crashy");
  const auto rec = run_one("abort", crashy.make("abort"));
  CHECK(rec.status == run_status::failed);
  CHECK(rec.error == "plugin process for crashy died (signal 6, SIGABRT)");
  CHECK(run_one("ok", crashy.make("ok")).status == run_status::success);
}

TEST_CASE("a plugin that fails to load in its host process is reported with its path and reason" *
          doctest::timeout(30)) {
  scratch_dir cache;
  std::ostringstream log;
  auto file = stage(test_plugin("init_fails"), cache.path());
  REQUIRE(file.has_value());
  auto made = make_isolated_provider(file.value(), {CASCADENCE_PLUGIN_HOST_PROGRAM, &log});
  REQUIRE_FALSE(made.has_value());
  CHECK(made.error().starts_with(test_plugin("init_fails").string() + ": "));
  CHECK(made.error().find("init() failed") != std::string::npos);
}

TEST_CASE("a missing plugin host program is a clear error" * doctest::timeout(30)) {
  scratch_dir cache;
  auto file = stage(test_plugin("good"), cache.path());
  REQUIRE(file.has_value());
  auto made = make_isolated_provider(file.value(), {cache / "no-such-host", nullptr});
  REQUIRE_FALSE(made.has_value());
  CHECK(made.error() == test_plugin("good").string() + ": plugin host " + (cache / "no-such-host").string() +
                            ": No such file or directory");
}

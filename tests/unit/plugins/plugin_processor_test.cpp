#include "engine/graph.hpp"
#include "engine/observer.hpp"
#include "engine/runner.hpp"
#include "plugins/in_process_provider.hpp"
#include "plugins/library.hpp"
#include "tests/support/run_async.hpp"
#include "tests/unit/plugins/test_plugins.hpp"

#include <doctest/doctest.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <chrono>
#include <sstream>
#include <thread>

using namespace cascadence::plugins;
using namespace cascadence::engine;
using cascadence::test::run_async;
using cascadence::test::scratch_dir;
using cascadence::test::test_plugin;
namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

struct lines_observer final : observer {
  std::vector<std::string> lines;
  void on_task_output(const graph&, const task_record&, output_stream stream, std::string_view line) override {
    lines.push_back((stream == output_stream::err ? "err: " : "out: ") + std::string(line));
  }
};

// The good test plugin, loaded once for the whole executable (a plugin is never unloaded anyway).
struct good_plugin final {
  scratch_dir cache;
  std::ostringstream log;  // written from plugin threads only through the host's mutex
  std::shared_ptr<provider> p;

  good_plugin() {
    auto file = stage(test_plugin("good"), cache.path());
    REQUIRE(file.has_value());
    auto made = make_in_process_provider(file.value(), {nullptr, &log});
    REQUIRE(made.has_value());
    p = made.value();
  }

  std::shared_ptr<processor> make(const std::string& name, const std::string& params = "null") {
    for (const auto& d : p->descriptor().processors) {
      if (d.name == "good." + name) {
        auto made = p->make_processor(d, boost::json::parse(params));
        REQUIRE(made.has_value());
        return made.value();
      }
    }
    FAIL("no processor good." << name);
    return nullptr;
  }
};

good_plugin& plugin() {
  static good_plugin g;
  return g;
}

struct one_task final {
  graph g;
  task_id id;
};

one_task single(const std::string& name, std::shared_ptr<processor> proc, task_settings settings = {}) {
  graph_builder b;
  const auto id = b.add({name, std::move(proc), std::move(settings)});
  auto g = std::move(b).build();
  REQUIRE(g.has_value());
  return {std::move(g.value()), id};
}

task_record run_one(const std::string& name, std::shared_ptr<processor> proc, task_settings settings = {},
                    run_options options = {}) {
  auto t = single(name, std::move(proc), std::move(settings));
  auto report = run_async(run_graph(t.g, std::span<const task_id>(&t.id, 1), std::move(options)));
  REQUIRE(report.records.size() == 1);
  return report.records[0];
}

task_settings timeout(std::chrono::milliseconds t) {
  task_settings s;
  s.timeout = t;
  return s;
}

// Waits (bounded) until no attempt waits for complete() beyond `expected`.
bool drains_to(std::size_t expected) {
  for (int i = 0; i < 500; ++i) {
    if (in_process_runs_pending() <= expected) return true;
    std::this_thread::sleep_for(10ms);
  }
  return false;
}

}  // namespace

TEST_CASE("a plugin that completes inside start succeeds with a null output" * doctest::timeout(10)) {
  const auto rec = run_one("noop", plugin().make("noop"));
  CHECK(rec.status == run_status::success);
  CHECK(rec.output.is_null());
  CHECK(rec.error.empty());
}

TEST_CASE("a plugin's result and output lines reach the run" * doctest::timeout(10)) {
  lines_observer lines;
  run_options opts;
  opts.observers.push_back(&lines);
  opts.input = boost::json::parse(R"({"n": 1})");
  const auto rec = run_one("echoer", plugin().make("echo", R"({"greeting": "hi"})"), {}, std::move(opts));
  CHECK(rec.status == run_status::success);
  CHECK(rec.output ==
        boost::json::parse(
            R"({"params": {"greeting": "hi"}, "input": {"task": "echoer", "input": {"n": 1}, "dependencies": {}}})"));
  CHECK(lines.lines == std::vector<std::string>{R"(out: echo {"greeting":"hi"})"});
}

TEST_CASE("a plugin that completes from its own thread resumes the run on the loop" * doctest::timeout(10)) {
  lines_observer lines;
  run_options opts;
  opts.observers.push_back(&lines);
  const auto loop_thread = std::this_thread::get_id();
  std::thread::id settled_on;
  struct thread_observer final : observer {
    std::thread::id* where;
    void on_task_finished(const graph&, const task_record&) override { *where = std::this_thread::get_id(); }
  } finished;
  finished.where = &settled_on;
  opts.observers.push_back(&finished);
  const auto rec = run_one("delay", plugin().make("delay", R"({"ms": 20})"), {}, std::move(opts));
  CHECK(rec.status == run_status::success);
  CHECK(rec.output == boost::json::parse(R"({"version": 1, "slept_ms": 20})"));
  CHECK(lines.lines == std::vector<std::string>{"err: working", "out: version 1"});
  CHECK(settled_on == loop_thread);
}

TEST_CASE("a plugin's INTERNAL status fails the task with its message" * doctest::timeout(10)) {
  const auto rec = run_one("fail", plugin().make("fail"));
  CHECK(rec.status == run_status::failed);
  CHECK(rec.error == "INTERNAL: boom");
}

TEST_CASE("start() refusing the attempt fails it with the plugin's message" * doctest::timeout(10)) {
  const auto rec = run_one("refuse", plugin().make("refuse_start"));
  CHECK(rec.status == run_status::failed);
  CHECK(rec.error == "this input is refused");
  CHECK(drains_to(0));
}

TEST_CASE("an exception a C++ plugin catches inside start becomes the task's error" * doctest::timeout(10)) {
  const auto rec = run_one("throws", plugin().make("throws"));
  CHECK(rec.status == run_status::failed);
  CHECK(rec.error == "kaboom");
}

TEST_CASE("a plugin that honours cancel is stopped by the task's timeout" * doctest::timeout(10)) {
  const auto before = in_process_runs_pending();
  const auto rec = run_one("slow", plugin().make("delay", R"({"ms": 60000})"), timeout(50ms));
  CHECK(rec.status == run_status::timed_out);
  CHECK(rec.error == "timed out after 50ms");
  // The plugin saw cancel() and completed CANCELLED; the completion was accepted and discarded.
  CHECK(drains_to(before));
}

TEST_CASE("a plugin that never completes is timed out by the host" * doctest::timeout(10)) {
  const auto before = in_process_runs_pending();
  const auto rec = run_one("hang", plugin().make("hang"), timeout(50ms));
  CHECK(rec.status == run_status::timed_out);
  CHECK(rec.error == "timed out after 50ms");
  // Its run stays known (the plugin may still complete it) and nothing else waits.
  CHECK(in_process_runs_pending() == before + 1);
}

TEST_CASE("a second complete() is ignored and logged once" * doctest::timeout(10)) {
  const auto rec = run_one("twice", plugin().make("twice"));
  CHECK(rec.status == run_status::success);
  CHECK(rec.output == 1);
  const auto log = plugin().log.str();
  const auto at = log.find("plugin good: complete() called twice for run ");
  REQUIRE(at != std::string::npos);
  CHECK(log.find(" of task twice (ignored)\n", at) != std::string::npos);
  CHECK(log.find("complete() called twice", at + 20) == std::string::npos);
}

TEST_CASE("a complete() after cancellation is accepted and discarded" * doctest::timeout(10)) {
  const auto before = in_process_runs_pending();
  const auto rec = run_one("late", plugin().make("late"), timeout(30ms));
  CHECK(rec.status == run_status::timed_out);
  CHECK(rec.output.is_null());
  CHECK(drains_to(before));
  CHECK(plugin().log.str().find("of task late") == std::string::npos);
}

TEST_CASE("cancelling the run calls the plugin's cancel and settles the task as cancelled" * doctest::timeout(10)) {
  const auto before = in_process_runs_pending();
  auto t = single("slow", plugin().make("delay", R"({"ms": 60000})"));
  asio::io_context io;
  run_canceller canceller;
  asio::steady_timer timer(io, 30ms);
  timer.async_wait([&](boost::system::error_code) { canceller.cancel("stop now"); });
  auto report = run_async(io, run_graph(t.g, std::span<const task_id>(&t.id, 1), {}, &canceller));
  REQUIRE(report.records.size() == 1);
  CHECK(report.records[0].status == run_status::cancelled);
  CHECK(report.records[0].error == "cancelled: stop now");
  CHECK(drains_to(before));
}

TEST_CASE("a blocking processor's start runs on the pool" * doctest::timeout(10)) {
  asio::thread_pool pool(1);
  run_options opts;
  opts.pool = &pool;
  const auto rec = run_one("blocking", plugin().make("blocking", R"({"ms": 10})"), {}, std::move(opts));
  CHECK(rec.status == run_status::success);
  CHECK(rec.output == "slept on the pool");
  const auto without = run_one("blocking", plugin().make("blocking", R"({"ms": 10})"));
  CHECK(without.status == run_status::failed);
  CHECK(without.error == "no thread pool was given for blocking processors");
}

TEST_CASE("create() refusing the params is an error with the plugin's message") {
  const auto& d = plugin().p->descriptor().processors[1];
  auto made = plugin().p->make_processor(d, boost::json::parse(R"({"bad": true})"));
  REQUIRE_FALSE(made.has_value());
  CHECK(made.error() == "params.bad is not allowed");
}

TEST_CASE("many concurrent attempts from plugin threads all settle" * doctest::timeout(20)) {
  graph_builder b;
  auto proc = plugin().make("delay", R"({"ms": 1})");
  std::vector<task_id> ids;
  for (int i = 0; i < 200; ++i) ids.push_back(b.add({"t" + std::to_string(i), proc, {}}));
  auto g = std::move(b).build();
  REQUIRE(g.has_value());
  auto report = run_async(run_graph(g.value(), ids, {}));
  REQUIRE(report.records.size() == 200);
  for (const auto& r : report.records) CHECK(r.status == run_status::success);
}

TEST_CASE("an immediate plugin processor runs inline, and its result and output reach the run" * doctest::timeout(10)) {
  auto proc = plugin().make("quick", R"({"greeting": "hi"})");
  // The graph sees an immediate processor: the engine runs it with no coroutine.
  CHECK(dynamic_cast<immediate_processor*>(proc.get()) != nullptr);
  lines_observer lines;
  run_options opts;
  opts.observers.push_back(&lines);
  opts.input = boost::json::parse(R"({"n": [1, "two"]})");
  const auto rec = run_one("quick \"one\"", proc, {}, std::move(opts));
  CHECK(rec.status == run_status::success);
  CHECK(rec.output == boost::json::parse(R"({"params": {"greeting": "hi"}, "input": {"task": "quick \"one\"",
                                                    "input": {"n": [1, "two"]}, "dependencies": {}}})"));
  CHECK(lines.lines == std::vector<std::string>{R"(out: echo {"greeting":"hi"})"});
}

TEST_CASE("an immediate plugin processor sees its dependencies' outputs in its input" * doctest::timeout(10)) {
  graph_builder b;
  const auto first = b.add(
      {"first",
       make_immediate_processor([](task_context&) { return outcome::success(boost::json::parse(R"({"k": "v\n"})")); }),
       {}});
  const auto silent = b.add({"silent", make_immediate_processor([](task_context&) { return outcome::success(); }), {}});
  const auto last = b.add({"last", plugin().make("quick"), {}});
  b.add_dependency(last, first);
  b.add_dependency(last, silent);
  auto g = std::move(b).build();
  REQUIRE(g.has_value());
  const auto report = run_async(run_graph(g.value(), std::span<const task_id>(&last, 1), {}));
  REQUIRE(report.records.size() == 3);
  const auto& rec = report.records.back();
  CHECK(rec.status == run_status::success);
  CHECK(rec.output.at("input") ==
        boost::json::parse(
            R"({"task": "last", "input": null, "dependencies": {"first": {"k": "v\n"}, "silent": null}})"));
}

TEST_CASE("an immediate plugin processor whose start() returns without completing fails its attempt" *
          doctest::timeout(10)) {
  const auto rec = run_one("unkept", plugin().make("unkept", R"({"ms": 1})"));
  CHECK(rec.status == run_status::failed);
  CHECK(rec.error == "plugin processor good.unkept is declared immediate, but start() returned without completing");
}

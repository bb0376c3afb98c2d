#include "engine/runner.hpp"
#include "engine/builtin_processors.hpp"
#include "engine/graph.hpp"
#include "engine/observer.hpp"
#include "engine/processor.hpp"
#include "tests/support/run_async.hpp"

#include <doctest/doctest.h>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <atomic>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace cascadence::engine;
namespace asio = boost::asio;
using cascadence::test::run_async;
using namespace std::chrono_literals;

namespace {

struct fixture {
  graph_builder builder;
  std::map<std::string, task_id> ids;

  task_id add(const std::string& name, std::shared_ptr<processor> p, std::vector<std::string> after = {},
              task_settings settings = {}) {
    const auto id = builder.add({name, std::move(p), std::move(settings)});
    for (auto& dep : after) builder.add_dependency(id, std::move(dep));
    ids[name] = id;
    return id;
  }

  graph build() {
    auto r = std::move(builder).build();
    REQUIRE(r.has_value());
    return std::move(r.value());
  }
};

std::shared_ptr<processor> failing(std::atomic<int>* calls = nullptr) {
  return make_async_processor([calls](task_context&) -> asio::awaitable<outcome> {
    if (calls != nullptr) ++*calls;
    co_return outcome::failure("boom");
  });
}

std::shared_ptr<processor> sleeping_forever() {
  return make_sleep_processor(std::chrono::hours(1));
}

run_status status_of(const run_report& report, const graph& g, std::string_view name) {
  const auto* rec = report.find(*g.find(name));
  REQUIRE(rec != nullptr);
  return rec->status;
}

run_report run(const graph& g, std::vector<std::string> targets, run_options options = {}) {
  std::vector<task_id> ids;
  for (auto& t : targets) ids.push_back(*g.find(t));
  return run_async(run_graph(g, ids, std::move(options)));
}

// Records the order in which tasks start.
struct order_observer final : observer {
  std::vector<std::string> started;
  void on_task_started(const graph& g, const task_record& r, unsigned) override {
    started.emplace_back(g.name(r.task));
  }
};

}  // namespace

TEST_CASE("dependencies run before their dependents and pass their outputs on" * doctest::timeout(10)) {
  fixture f;
  f.add("a", make_echo_processor("from a"));
  f.add("b", make_async_processor([](task_context& ctx) -> asio::awaitable<outcome> {
          auto in = ctx.input();
          co_return outcome::success(in.at("dependencies").at("a"));
        }),
        {"a"});
  auto g = f.build();
  order_observer obs;
  run_options opts;
  opts.observers.push_back(&obs);
  auto report = run(g, {"b"}, std::move(opts));
  CHECK(report.succeeded());
  CHECK(obs.started == std::vector<std::string>{"a", "b"});
  CHECK(report.find(*g.find("b"))->output == boost::json::value("from a"));
}

TEST_CASE("append_input_json writes the text serialize(input()) gives" * doctest::timeout(10)) {
  fixture f;
  f.add("a \"quoted\" \\ name", make_immediate_processor([](task_context&) {
          return outcome::success(boost::json::parse(R"({"x": [1, 2.5, "é\t"], "y": {"z": null}})"));
        }));
  f.add("nothing", make_immediate_processor([](task_context&) { return outcome::success(); }));
  std::string serialized;
  std::string appended;
  f.add("b", make_immediate_processor([&](task_context& ctx) {
          serialized = boost::json::serialize(ctx.input());
          appended = "prefix ";
          ctx.append_input_json(appended);
          return outcome::success();
        }),
        {"a \"quoted\" \\ name", "nothing"});
  auto g = f.build();
  run_options options;
  options.input = boost::json::parse(R"({"run": ["input", {"with": true}]})");
  const auto report = run(g, {"b"}, std::move(options));
  CHECK(status_of(report, g, "b") == run_status::success);
  REQUIRE_FALSE(serialized.empty());
  CHECK(appended == "prefix " + serialized);
  CHECK(boost::json::parse(serialized).at("dependencies").as_object().size() == 2);
}

TEST_CASE("a failed task marks its dependents skipped while independent branches finish" * doctest::timeout(10)) {
  fixture f;
  f.add("bad", failing());
  f.add("child", make_noop_processor(), {"bad"});
  f.add("grandchild", make_noop_processor(), {"child"});
  f.add("independent", make_sleep_processor(20ms));
  f.add("all", make_noop_processor(), {"grandchild", "independent"});
  auto g = f.build();
  auto report = run(g, {"all"});
  CHECK_FALSE(report.succeeded());
  CHECK(status_of(report, g, "bad") == run_status::failed);
  CHECK(report.find(*g.find("bad"))->error == "boom");
  CHECK(status_of(report, g, "child") == run_status::skipped);
  CHECK(status_of(report, g, "grandchild") == run_status::skipped);
  CHECK(status_of(report, g, "independent") == run_status::success);
  CHECK(status_of(report, g, "all") == run_status::skipped);
  CHECK(report.find(*g.find("child"))->error == "dependency 'bad' did not succeed");
}

TEST_CASE("retries run a failing task once more per retry") {
  std::atomic<int> calls{0};
  fixture f;
  task_settings s;
  s.retry.retries = 2;
  s.retry.backoff = 1ms;
  f.add("flaky", failing(&calls), {}, s);
  auto g = f.build();
  auto report = run(g, {"flaky"});
  CHECK(calls == 3);
  CHECK(report.records.at(0).attempts == 3);
  CHECK(report.records.at(0).status == run_status::failed);
}

TEST_CASE("a retry that succeeds leaves no error on the record") {
  std::atomic<int> calls{0};
  fixture f;
  task_settings s;
  s.retry.retries = 3;
  s.retry.backoff = 1ms;
  f.add("flaky", make_async_processor([&calls](task_context&) -> asio::awaitable<outcome> {
          co_return ++calls < 2 ? outcome::failure("first attempt fails") : outcome::success();
        }),
        {}, s);
  auto g = f.build();
  auto report = run(g, {"flaky"});
  CHECK(calls == 2);
  CHECK(report.records.at(0).attempts == 2);
  CHECK(report.records.at(0).status == run_status::success);
  CHECK(report.records.at(0).error.empty());
}

TEST_CASE("a task that exceeds its timeout is reported timed out" * doctest::timeout(10)) {
  fixture f;
  task_settings s;
  s.timeout = 30ms;
  f.add("slow", sleeping_forever(), {}, s);
  auto g = f.build();
  auto report = run(g, {"slow"});
  CHECK(report.records.at(0).status == run_status::timed_out);
  CHECK(report.records.at(0).error == "timed out after 30ms");
}

TEST_CASE("max_concurrency bounds how many tasks run at once" * doctest::timeout(10)) {
  int running = 0;
  int peak = 0;
  auto probe = make_async_processor([&](task_context&) -> asio::awaitable<outcome> {
    peak = std::max(peak, ++running);
    asio::steady_timer t(co_await asio::this_coro::executor, 5ms);
    co_await t.async_wait(asio::use_awaitable);
    --running;
    co_return outcome::success();
  });
  fixture f;
  std::vector<std::string> all;
  for (int i = 0; i < 20; ++i) all.push_back("t" + std::to_string(i));
  for (auto& name : all) f.add(name, probe);
  auto g = f.build();
  SUBCASE("limited") {
    run_options opts;
    opts.max_concurrency = 3;
    CHECK(run(g, all, std::move(opts)).succeeded());
    CHECK(peak == 3);
  }
  SUBCASE("unlimited") {
    CHECK(run(g, all).succeeded());
    CHECK(peak == 20);
  }
}

TEST_CASE("cancelling the awaiting coroutine cancels running tasks and settles the rest" * doctest::timeout(10)) {
  fixture f;
  f.add("long", sleeping_forever());
  f.add("after", make_noop_processor(), {"long"});
  auto g = f.build();
  asio::io_context io;
  asio::cancellation_signal stop;
  std::optional<run_report> report;
  const task_id target = *g.find("after");
  asio::co_spawn(io, run_graph(g, std::span<const task_id>(&target, 1), {}),
                 asio::bind_cancellation_slot(stop.slot(), [&](std::exception_ptr e, run_report r) {
                   REQUIRE_FALSE(e);
                   report = std::move(r);
                 }));
  asio::steady_timer t(io, 20ms);
  t.async_wait([&](auto) { stop.emit(asio::cancellation_type::terminal); });
  io.run();
  REQUIRE(report);
  CHECK(status_of(*report, g, "long") == run_status::cancelled);
  CHECK(status_of(*report, g, "after") == run_status::cancelled);
  CHECK(report->cancel_reason == "cancelled by the caller");
}

TEST_CASE("a canceller stops a run with its reason" * doctest::timeout(10)) {
  fixture f;
  f.add("long", sleeping_forever());
  auto g = f.build();
  asio::io_context io;
  run_canceller canceller;
  asio::steady_timer t(io, 10ms);
  t.async_wait([&](auto) { canceller.cancel("SIGINT"); });
  const task_id target = 0;
  auto report = run_async(io, run_graph(g, std::span<const task_id>(&target, 1), {}, &canceller));
  CHECK(report.records.at(0).status == run_status::cancelled);
  CHECK(report.records.at(0).error == "cancelled: SIGINT");
}

TEST_CASE("blocking processors run on the pool and resume the graph on the loop" * doctest::timeout(10)) {
  asio::thread_pool pool(2);
  const auto loop_thread = std::this_thread::get_id();
  std::atomic<bool> ran_elsewhere{false};
  fixture f;
  f.add("blocking", make_blocking_processor([&](task_context& ctx) {
          ran_elsewhere = std::this_thread::get_id() != loop_thread;
          ctx.emit_output(output_stream::out, "from the pool");
          return outcome::success(42);
        }));
  f.add("after", make_async_processor([&](task_context& ctx) -> asio::awaitable<outcome> {
          CHECK(std::this_thread::get_id() == loop_thread);
          co_return outcome::success(ctx.input().at("dependencies").at("blocking"));
        }),
        {"blocking"});
  auto g = f.build();
  struct lines_observer final : observer {
    std::vector<std::string> lines;
    void on_task_output(const graph&, const task_record&, output_stream, std::string_view l) override {
      lines.emplace_back(l);
    }
  } lines;
  run_options opts;
  opts.pool = &pool;
  opts.observers.push_back(&lines);
  auto report = run(g, {"after"}, std::move(opts));
  CHECK(report.succeeded());
  CHECK(ran_elsewhere);
  CHECK(lines.lines == std::vector<std::string>{"from the pool"});
  CHECK(report.find(*g.find("after"))->output == boost::json::value(42));
}

TEST_CASE("a blocking processor without a pool fails with a clear error") {
  fixture f;
  f.add("blocking", make_blocking_processor([](task_context&) { return outcome::success(); }));
  auto g = f.build();
  auto report = run(g, {"blocking"});
  CHECK(report.records.at(0).error == "no thread pool was given for blocking processors");
}

TEST_CASE("a long failed chain settles without deep recursion") {
  fixture f;
  f.add("t0", failing());
  for (int i = 1; i < 200000; ++i) f.add("t" + std::to_string(i), make_noop_processor(), {"t" + std::to_string(i - 1)});
  auto g = f.build();
  auto report = run(g, {"t199999"});
  CHECK(report.records.size() == 200000);
  CHECK(status_of(report, g, "t199999") == run_status::skipped);
}

TEST_CASE("run ids are unique per task and derived ids are stable") {
  CHECK(run_id::random() != run_id::random());
  CHECK(run_id::derived("example@2026-01-01T00:00:00Z") == run_id::derived("example@2026-01-01T00:00:00Z"));
  CHECK(run_id::derived("a").to_string() != run_id::derived("b").to_string());
  const auto text = run_id::random().to_string();
  CHECK(text.size() == 36);
  CHECK(text[14] == '4');
}

TEST_CASE("record times are ordered: a task starts after its dependencies finish") {
  fixture f;
  f.add("t0", make_noop_processor());
  for (int i = 1; i < 600; ++i) f.add("t" + std::to_string(i), make_noop_processor(), {"t" + std::to_string(i - 1)});
  auto g = f.build();
  auto report = run(g, {"t599"});
  REQUIRE(report.records.size() == 600);
  for (std::size_t i = 0; i < report.records.size(); ++i) {
    const auto& rec = report.records[i];
    CHECK(rec.started != std::chrono::system_clock::time_point{});
    CHECK(rec.started <= rec.finished);
    if (i > 0) CHECK(report.records[i - 1].finished <= rec.started);
  }
}

TEST_CASE("a graph built dependents first still runs each dependency first, once") {
  fixture f;
  f.add("c", make_noop_processor(), {"b", "a"});
  f.add("unrelated", make_noop_processor());
  f.add("b", make_noop_processor(), {"a"});
  f.add("a", make_noop_processor());
  auto g = f.build();
  order_observer obs;
  run_options opts;
  opts.observers.push_back(&obs);
  auto report = run(g, {"c"}, std::move(opts));
  CHECK(report.succeeded());
  CHECK(obs.started == std::vector<std::string>{"a", "b", "c"});
  CHECK(report.find(*g.find("unrelated")) == nullptr);
}

TEST_CASE("async_run_graph completes a plain callback with the report, never inline" * doctest::timeout(10)) {
  fixture f;
  f.add("first", make_echo_processor("one"));
  f.add("second", make_echo_processor("two"), {"first"});
  auto g = f.build();
  asio::io_context io;
  std::optional<run_report> report;
  const task_id target = *g.find("second");
  async_run_graph(io.get_executor(), g, std::span<const task_id>(&target, 1), {}, nullptr,
                  [&](run_report r) { report = std::move(r); });
  CHECK_FALSE(report);  // not from inside the initiating call, even though nothing suspends
  io.run();
  REQUIRE(report);
  CHECK(report->succeeded());
  CHECK(report->records.size() == 2);
  CHECK(status_of(*report, g, "second") == run_status::success);
}

TEST_CASE("async_run_graph of nothing still completes, after the call returns" * doctest::timeout(10)) {
  fixture f;
  f.add("unused", make_noop_processor());
  auto g = f.build();
  asio::io_context io;
  bool completed = false;
  async_run_graph(io.get_executor(), g, {}, {}, nullptr, [&](const run_report& r) {
    completed = true;
    CHECK(r.records.empty());
  });
  CHECK_FALSE(completed);
  io.run();
  CHECK(completed);
}

TEST_CASE("async_run_graph is cancelled through its handler's cancellation slot" * doctest::timeout(10)) {
  fixture f;
  f.add("long", sleeping_forever());
  f.add("after", make_noop_processor(), {"long"});
  auto g = f.build();
  asio::io_context io;
  asio::cancellation_signal stop;
  std::optional<run_report> report;
  const task_id target = *g.find("after");
  async_run_graph(io.get_executor(), g, std::span<const task_id>(&target, 1), {}, nullptr,
                  asio::bind_cancellation_slot(stop.slot(), [&](run_report r) { report = std::move(r); }));
  asio::steady_timer t(io, 20ms);
  t.async_wait([&](auto) { stop.emit(asio::cancellation_type::terminal); });
  io.run();
  REQUIRE(report);
  CHECK(status_of(*report, g, "long") == run_status::cancelled);
  CHECK(status_of(*report, g, "after") == run_status::cancelled);
  CHECK(report->cancel_reason == "cancelled by the caller");
}

TEST_CASE("immediate processors run inline between async tasks, with outputs, observers and order kept" *
          doctest::timeout(10)) {
  fixture f;
  std::vector<std::string> ran;
  const auto immediate = [&ran](std::string name) {
    return make_immediate_processor([&ran, name](task_context& ctx) {
      ran.push_back(name);
      ctx.emit_output(output_stream::out, name + " says hi");
      return outcome::success(boost::json::value(name + "-out"));
    });
  };
  f.add("a", immediate("a"));
  f.add("b", make_async_processor([&ran](task_context& ctx) -> asio::awaitable<outcome> {
          asio::steady_timer t(co_await asio::this_coro::executor, 1ms);
          co_await t.async_wait(asio::use_awaitable);
          ran.emplace_back("b");
          co_return outcome::success(ctx.input().at("dependencies").at("a"));
        }),
        {"a"});
  f.add("c", immediate("c"), {"b"});
  auto g = f.build();

  struct counting final : observer {
    int started = 0;
    int finished = 0;
    std::vector<std::string> lines;
    void on_task_started(const graph&, const task_record&, unsigned) override { ++started; }
    void on_task_finished(const graph&, const task_record&) override { ++finished; }
    void on_task_output(const graph&, const task_record&, output_stream, std::string_view line) override {
      lines.emplace_back(line);
    }
  } obs;
  run_options options;
  options.observers.push_back(&obs);
  auto report = run(g, {"c"}, std::move(options));
  CHECK(report.succeeded());
  CHECK(ran == std::vector<std::string>{"a", "b", "c"});
  CHECK(obs.started == 3);
  CHECK(obs.finished == 3);
  CHECK(obs.lines == std::vector<std::string>{"a says hi", "c says hi"});
  CHECK(report.find(*g.find("b"))->output == boost::json::value("a-out"));
  const auto* a = report.find(*g.find("a"));
  CHECK(a->attempts == 1);
  CHECK(a->started <= a->finished);
  CHECK(a->finished <= report.find(*g.find("b"))->started);
}

TEST_CASE("an immediate processor that throws fails its task and skips its dependents") {
  fixture f;
  f.add("bad", make_immediate_processor([](task_context&) -> outcome { throw std::runtime_error("broken"); }));
  f.add("after", make_noop_processor(), {"bad"});
  auto g = f.build();
  auto report = run(g, {"after"});
  CHECK(status_of(report, g, "bad") == run_status::failed);
  CHECK(report.find(*g.find("bad"))->error == "broken");
  CHECK(status_of(report, g, "after") == run_status::skipped);
}

TEST_CASE("an immediate processor with retries is retried after its back-off" * doctest::timeout(10)) {
  int calls = 0;
  fixture f;
  task_settings s;
  s.retry.retries = 2;
  s.retry.backoff = 1ms;
  f.add("flaky", make_immediate_processor([&calls](task_context& ctx) {
          CHECK(static_cast<int>(ctx.attempt()) == calls + 1);
          return ++calls < 3 ? outcome::failure("not yet") : outcome::success();
        }),
        {}, s);
  auto g = f.build();
  auto report = run(g, {"flaky"});
  CHECK(calls == 3);
  CHECK(report.records.at(0).attempts == 3);
  CHECK(report.records.at(0).status == run_status::success);
}

TEST_CASE("a run cancelled before it starts runs none of its immediate tasks") {
  int calls = 0;
  fixture f;
  f.add("one", make_immediate_processor([&calls](task_context&) {
          ++calls;
          return outcome::success();
        }));
  f.add("two", make_noop_processor(), {"one"});
  auto g = f.build();
  run_canceller canceller;
  canceller.cancel("changed my mind");
  const task_id target = *g.find("two");
  asio::io_context io;
  std::optional<run_report> report;
  async_run_graph(io.get_executor(), g, std::span<const task_id>(&target, 1), {}, &canceller,
                  [&](run_report r) { report = std::move(r); });
  io.run();
  REQUIRE(report);
  CHECK(calls == 0);
  CHECK(status_of(*report, g, "one") == run_status::cancelled);
  CHECK(status_of(*report, g, "two") == run_status::cancelled);
}

TEST_CASE("a long run of immediate tasks gives the loop back to other work" * doctest::timeout(10)) {
  constexpr int tasks = 2000;
  int calls = 0;
  fixture f;
  auto count = make_immediate_processor([&calls](task_context&) {
    ++calls;
    return outcome::success();
  });
  std::vector<task_id> targets;
  for (int i = 0; i < tasks; ++i) targets.push_back(f.add("t" + std::to_string(i), count));
  auto g = f.build();
  asio::io_context io;
  std::optional<run_report> report;
  async_run_graph(io.get_executor(), g, targets, {}, nullptr, [&](run_report r) { report = std::move(r); });
  // Posted after the run started: it must run before the run is over.
  int calls_seen = -1;
  asio::post(io, [&] { calls_seen = calls; });
  io.run();
  REQUIRE(report);
  CHECK(report->succeeded());
  CHECK(calls == tasks);
  CHECK(calls_seen >= 0);
  CHECK(calls_seen < tasks);
}

// What a blocking processor saw of its context on the pool, checked on the
// test's thread afterwards (doctest's assertions are not for pool threads).
struct pool_view final {
  std::atomic<int> reads{0};
  std::atomic<int> wrong{0};
  std::atomic<bool> on_pool{false};
};

TEST_CASE("a blocking processor reads its context on the pool while other tasks of a sparse run settle" *
          doctest::timeout(60)) {
  // A run of a few tasks of a large graph keeps its task table in a hash map
  // that grows as tasks settle (their dependents outside the run get
  // entries). The blocking task keeps reading its context on the pool until
  // every other task settled, so the two overlap.
  constexpr int settlers = 48;
  constexpr int dependents_each = 64;
  asio::thread_pool pool(2);
  const auto loop_thread = std::this_thread::get_id();
  std::atomic<int> settled{0};
  pool_view view;
  fixture f;
  f.add("source", make_immediate_processor([](task_context&) { return outcome::success(boost::json::value("src")); }));
  f.add("reader", make_blocking_processor([&](task_context& ctx) {
          view.on_pool = std::this_thread::get_id() != loop_thread;
          const auto deadline = std::chrono::steady_clock::now() + 20s;
          while (settled.load() < settlers && std::chrono::steady_clock::now() < deadline) {
            const auto in = ctx.input();
            const bool right = in.at("task") == "reader" && in.at("input") == boost::json::value("run-in") &&
                               in.at("dependencies").at("source") == "src" && ctx.run_input() == "run-in" &&
                               ctx.task_name() == "reader" && ctx.event() == nullptr && ctx.attempt() == 1 &&
                               !ctx.stop_requested() && ctx.kill_grace() == 1500ms && ctx.blocking_pool() == &pool &&
                               !ctx.id().to_string().empty();
            if (!right) ++view.wrong;
            if (view.reads++ % 64 == 0) ctx.emit_output(output_stream::out, "reading");
          }
          return outcome::success(static_cast<std::int64_t>(settled.load()));
        }),
        {"source"});
  std::vector<task_id> targets{f.ids["reader"]};
  for (int i = 0; i < settlers; ++i) {
    const auto name = "settler" + std::to_string(i);
    targets.push_back(f.add(name, make_sleep_processor(std::chrono::milliseconds(5 + i))));
    for (int j = 0; j < dependents_each; ++j) f.add(name + "-later" + std::to_string(j), make_noop_processor(), {name});
  }
  auto g = f.build();
  REQUIRE(g.size() >= 16 * targets.size() + 256);  // a sparse run, by run_state's rule

  struct counter final : observer {
    const graph* g = nullptr;
    std::atomic<int>* settled = nullptr;
    int lines = 0;
    void on_task_finished(const graph& gr, const task_record& r) override {
      if (gr.name(r.task).starts_with("settler")) ++*settled;
    }
    void on_task_output(const graph&, const task_record&, output_stream, std::string_view) override { ++lines; }
  } obs;
  obs.settled = &settled;
  run_options opts;
  opts.pool = &pool;
  opts.input = "run-in";
  opts.kill_grace = 1500ms;
  opts.observers.push_back(&obs);
  auto report = run_async(run_graph(g, targets, std::move(opts)));
  CHECK(report.succeeded());
  CHECK(report.records.size() == targets.size() + 1);
  CHECK(view.on_pool);
  CHECK(view.reads > 0);
  CHECK(view.wrong == 0);
  CHECK(obs.lines > 0);
  CHECK(report.find(*g.find("reader"))->output == boost::json::value(settlers));
}

TEST_CASE("output a blocking processor emits from a thread of its own reaches observers on the loop" *
          doctest::timeout(10)) {
  asio::thread_pool pool(1);
  const auto loop_thread = std::this_thread::get_id();
  fixture f;
  f.add("blocking", make_blocking_processor([](task_context& ctx) {
          // A processor reading a library's callback thread, say: joined
          // before run_blocking() returns.
          std::thread helper([&ctx] { ctx.emit_output(output_stream::err, "from a helper thread"); });
          helper.join();
          return outcome::success();
        }));
  auto g = f.build();
  struct lines_observer final : observer {
    std::thread::id loop;
    std::vector<std::string> lines;
    bool elsewhere = false;
    void on_task_output(const graph&, const task_record&, output_stream, std::string_view l) override {
      elsewhere = elsewhere || std::this_thread::get_id() != loop;
      lines.emplace_back(l);
    }
  } lines;
  lines.loop = loop_thread;
  run_options opts;
  opts.pool = &pool;
  opts.observers.push_back(&lines);
  auto report = run(g, {"blocking"}, std::move(opts));
  CHECK(report.succeeded());
  CHECK(lines.lines == std::vector<std::string>{"from a helper thread"});
  CHECK_FALSE(lines.elsewhere);
}

TEST_CASE("a run without dependencies runs its targets alone, in their own order" * doctest::timeout(10)) {
  std::atomic<int> calls{0};
  fixture f;
  f.add("a", failing(&calls));
  f.add("b", make_echo_processor("from b"), {"a"});
  f.add("c", make_async_processor([](task_context& ctx) -> asio::awaitable<outcome> {
          auto in = ctx.input();
          co_return outcome::success(in.at("dependencies"));
        }),
        {"b"});
  auto g = f.build();
  order_observer obs;
  run_options opts;
  opts.observers.push_back(&obs);
  opts.dependencies = false;
  auto report = run(g, {"c", "b"}, std::move(opts));
  CHECK(report.succeeded());
  CHECK(calls == 0);  // `a` is outside the run: taken as done, never started
  CHECK(report.find(*g.find("a")) == nullptr);
  CHECK(obs.started == std::vector<std::string>{"b", "c"});
  CHECK(report.find(*g.find("c"))->output == boost::json::value(boost::json::object{{"b", "from b"}}));
}

TEST_CASE("a run of one task without dependencies gives it no dependency outputs" * doctest::timeout(10)) {
  fixture f;
  f.add("a", make_echo_processor("from a"));
  f.add("b", make_async_processor([](task_context& ctx) -> asio::awaitable<outcome> {
          auto in = ctx.input();
          co_return outcome::success(in.at("dependencies"));
        }),
        {"a"});
  auto g = f.build();
  run_options opts;
  opts.dependencies = false;
  auto report = run(g, {"b"}, std::move(opts));
  REQUIRE(report.records.size() == 1);
  CHECK(report.find(*g.find("b"))->output == boost::json::value(boost::json::object{}));
}

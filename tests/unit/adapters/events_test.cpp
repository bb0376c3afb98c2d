// Run events: the seed's user-id hash, the event JSON of a real engine run,
// and the emitter's queue, order, drops and drain (with a transport of the
// test's own that records what it is given).

#include "adapters/events/emitter.hpp"
#include "adapters/events/event_json.hpp"
#include "adapters/events/transports.hpp"
#include "adapters/events/user_hash.hpp"
#include "engine/builtin_processors.hpp"
#include "engine/graph.hpp"
#include "engine/runner.hpp"
#include "tests/support/run_async.hpp"

#include <doctest/doctest.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json/parse.hpp>

#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <map>

using namespace cascadence;
using namespace cascadence::adapters::events;
namespace asio = boost::asio;
using namespace std::chrono_literals;

TEST_CASE("the user hash is hex(sha256(secret + id)), byte for byte") {
  // Vectors from Python's hashlib.sha256((secret + id).encode()).hexdigest().
  CHECK(hash_user_id("alice", "") == "2bd806c97f0e00af1a1fc3328fa763a9269723c8db8fac4f93af71db186d6e90");
  CHECK(hash_user_id("", "") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(hash_user_id("alice", "s3cr3t") == "5c7b365dccc4e5e7bd2df7ecf21651420315380cdbb21d763436fdb015b9246e");
  CHECK(hash_user_id("", "s3cr3t") == "4e738ca5563c06cfd0018299933d58db1dd8bf97f6973dc99bf6cdc64b5550bd");
  CHECK(hash_user_id("Zo\xc3\xab \xe6\x97\xa5\xe6\x9c\xac",
                     "\xc3\xbc"
                     "n\xc3\xaf"
                     "code") == "656c8b6e0cc1f90667ca214a32962971e66bba7331a528c20ae5eace1fe77326");
  // A prefix, not a key: moving bytes between secret and id keeps the hash.
  CHECK(hash_user_id("3talice", "s3cr") == hash_user_id("alice", "s3cr3t"));
}

TEST_CASE("the environment's CASCADENCE_HASH_SECRET salts the hash") {
  ::setenv("CASCADENCE_HASH_SECRET", "s3cr3t", 1);
  CHECK(hash_user_id("alice") == hash_user_id("alice", "s3cr3t"));
  ::unsetenv("CASCADENCE_HASH_SECRET");
  CHECK(hash_user_id("alice") == hash_user_id("alice", ""));
}

namespace {

// Records every batch; fails or stalls when told to.
struct recording_transport final : transport {
  std::vector<std::vector<event>>* batches;
  std::optional<send_failure> fail_with;
  std::chrono::milliseconds stall{0};
  explicit recording_transport(std::vector<std::vector<event>>* b) : batches(b) {}
  [[nodiscard]] std::string_view name() const noexcept override { return "test"; }
  asio::awaitable<std::optional<send_failure>> send(std::vector<event> batch, std::chrono::milliseconds) override {
    if (stall.count() != 0) {
      asio::steady_timer t(co_await asio::this_coro::executor, stall);
      co_await t.async_wait(asio::use_awaitable);
    }
    batches->push_back(std::move(batch));
    co_return fail_with;
  }
};

struct drops final {
  std::map<std::string, std::uint64_t> by_reason;
  std::uint64_t sent = 0;
  std::vector<std::string> lines;
  emitter_hooks hooks() {
    emitter_hooks h;
    h.dropped = [this](std::string_view, std::string_view reason, std::uint64_t n) {
      by_reason[std::string(reason)] += n;
    };
    h.sent = [this](std::string_view, std::uint64_t n) { sent += n; };
    h.log = [this](const std::string& line) { lines.push_back(line); };
    return h;
  }
};

// drain() to completion on `io` (run_async wants a value).
void drain(asio::io_context& io, emitter& e, std::chrono::milliseconds within) {
  auto waiting = [&]() -> asio::awaitable<int> {
    co_await e.drain(within);
    co_return 0;
  };
  (void)test::run_async(io, waiting());
}

engine::graph three_tasks() {
  engine::graph_builder b;
  engine::task_settings described;
  described.description = "first";
  const auto a = b.add({"a", engine::make_echo_processor("x"), described});
  const auto bb = b.add({"b", engine::make_echo_processor("y"), {}});
  const auto c = b.add({"c", engine::make_echo_processor("z"), {}});
  b.add_dependency(bb, "a");
  b.add_dependency(c, "b");
  (void)a;
  (void)c;
  auto g = std::move(b).build();
  REQUIRE(g.has_value());
  return std::move(g.value());
}

}  // namespace

TEST_CASE("a graph run's events are the seed's shapes, in order, and the loop ends when they are sent") {
  asio::io_context io;
  std::vector<std::vector<event>> batches;
  drops d;
  auto g = three_tasks();
  emitter e(io.get_executor(), std::make_unique<recording_transport>(&batches), {}, d.hooks());
  engine::run_options o;
  o.observers.push_back(&e);
  o.user_hash = hash_user_id("alice", "");
  const engine::task_id target = *g.find("c");
  const auto report = test::run_async(io, engine::run_graph(g, std::span(&target, 1), std::move(o)));
  // run_async returned: io.run() ran out of work, so the sender is done too.
  std::vector<boost::json::value> events;
  for (const auto& batch : batches) {
    for (const auto& ev : batch) events.push_back(boost::json::parse(ev.json));
  }
  REQUIRE(events.size() == 6);
  CHECK(e.totals().sent == 6);
  CHECK(d.sent == 6);
  const std::vector<std::pair<std::string, std::string>> expected{{"task_spec", "a"}, {"task_run", "a"},
                                                                  {"task_spec", "b"}, {"task_run", "b"},
                                                                  {"task_spec", "c"}, {"task_run", "c"}};
  for (std::size_t i = 0; i < events.size(); ++i) {
    const auto& ev = events[i].as_object();
    CHECK(ev.at("version") == 1);
    CHECK(ev.at("type").as_string() == expected[i].first);
    const auto& spec = ev.at("type") == "task_spec" ? ev : ev.at("spec").as_object();
    CHECK(spec.at("name").as_string() == expected[i].second);
    CHECK(spec.at("user_hash") == "2bd806c97f0e00af1a1fc3328fa763a9269723c8db8fac4f93af71db186d6e90");
    CHECK(ev.at("run_id").as_string() == report.id.to_string());
  }
  const auto& first = events[1].as_object();
  CHECK(first.at("spec").at("description") == "first");
  CHECK(first.at("status") == "success");
  CHECK(first.at("error").is_null());
  CHECK(first.at("attempt") == 1);
  CHECK(first.at("started_at").as_string().ends_with("Z"));
  CHECK(first.at("spec").at("id") == events[0].at("id"));
  CHECK(first.at("spec").at("id").as_string() == report.records.front().id.to_string());
}

TEST_CASE("a full queue drops the newest events and says so once per interval") {
  asio::io_context io;
  std::vector<std::vector<event>> batches;
  drops d;
  emitter_options o;
  o.queue_limit = 3;
  o.batch_limit = 2;
  emitter e(io.get_executor(), std::make_unique<recording_transport>(&batches), o, d.hooks());
  for (int i = 0; i < 5; ++i) e.push({"t", std::to_string(i)});
  CHECK(e.totals().dropped == 2);
  CHECK(d.by_reason["queue_full"] == 2);
  CHECK(d.lines.size() == 1);  // the first drop at once; the second waits for the interval
  io.run();
  REQUIRE(batches.size() == 2);
  CHECK(batches[0].size() == 2);
  CHECK(batches[0][0].json == "0");
  CHECK(batches[1][0].json == "2");
  io.restart();
  drain(io, e, 1s);
  REQUIRE(d.lines.size() == 2);  // drain() logs what was not logged yet
  CHECK(d.lines[1].find("1 event dropped on test (queue_full 1)") != std::string::npos);
}

TEST_CASE("a failed send drops what it did not deliver, and the next batch is tried") {
  asio::io_context io;
  std::vector<std::vector<event>> batches;
  drops d;
  auto carrier = std::make_unique<recording_transport>(&batches);
  carrier->fail_with = send_failure{"timeout", "no answer", 1};
  emitter_options o;
  o.batch_limit = 3;
  emitter e(io.get_executor(), std::move(carrier), o, d.hooks());
  for (int i = 0; i < 4; ++i) e.push({"t", std::to_string(i)});
  io.run();
  CHECK(batches.size() == 2);
  CHECK(e.totals().sent == 2);     // one of each batch
  CHECK(e.totals().dropped == 2);  // 2 of the first, 0 of the second (of 1)
  CHECK(d.by_reason["timeout"] == 2);
  REQUIRE_FALSE(d.lines.empty());
  CHECK(d.lines[0].find("no answer") != std::string::npos);
}

TEST_CASE("drain gives up on what is still queued when its time is over") {
  asio::io_context io;
  std::vector<std::vector<event>> batches;
  drops d;
  auto carrier = std::make_unique<recording_transport>(&batches);
  carrier->stall = 200ms;
  emitter_options o;
  o.batch_limit = 1;
  emitter e(io.get_executor(), std::move(carrier), o, d.hooks());
  for (int i = 0; i < 5; ++i) e.push({"t", std::to_string(i)});
  drain(io, e, 50ms);
  CHECK(d.by_reason["shutdown"] == 4);  // the one in flight still goes
  io.run();
  CHECK(batches.size() == 1);
  CHECK(e.totals().sent == 1);
}

TEST_CASE("the file transport appends one line per event") {
  const auto dir = std::filesystem::temp_directory_path() / ("cascadence-events-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto path = (dir / "events.jsonl").string();
  {
    std::ofstream(path) << "{\"kept\":true}\n";
    asio::io_context io;
    settings s;
    s.transport = "file";
    s.path = path;
    emitter e(io.get_executor(), make_transport(s, io.get_executor()));
    e.push({"t", R"({"n":1})"});
    e.push({"t", R"({"n":2})"});
    io.run();
  }
  std::ifstream in(path);
  std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  CHECK(all == "{\"kept\":true}\n{\"n\":1}\n{\"n\":2}\n");
  settings bad;
  bad.transport = "file";
  bad.path = (dir / "missing" / "x.jsonl").string();
  asio::io_context io;
  CHECK_THROWS_WITH_AS(make_transport(bad, io.get_executor()), doctest::Contains("cannot open"), std::runtime_error);
  bad.transport = "pigeon";
  CHECK_THROWS_WITH_AS(make_transport(bad, io.get_executor()), doctest::Contains("unknown transport 'pigeon'"),
                       std::runtime_error);
  std::filesystem::remove_all(dir);
}

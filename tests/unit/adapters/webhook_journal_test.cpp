#include "adapters/webhooks/webhook_journal.hpp"
#include "scheduling/atomic_file.hpp"
#include "tests/support/run_async.hpp"

#include <doctest/doctest.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/json/parse.hpp>

#include <stdlib.h>
#include <filesystem>
#include <fstream>
#include <string>

using namespace cascadence::adapters::webhooks;
using cascadence::test::run_async;
namespace asio = boost::asio;

namespace {

struct scratch final {
  std::filesystem::path dir;
  scratch() {
    auto templ = (std::filesystem::temp_directory_path() / "cascadence-journal-XXXXXX").string();
    dir = ::mkdtemp(templ.data());
  }
  ~scratch() { std::filesystem::remove_all(dir); }
  scratch(const scratch&) = delete;
  scratch& operator=(const scratch&) = delete;
};

// One process's journal: its loop, its pool, opened on `dir`.
struct opened final {
  asio::io_context io;
  asio::thread_pool pool{1};
  webhook_journal journal;
  std::vector<journaled_event> undelivered;
  explicit opened(const std::filesystem::path& dir, std::uint64_t max_bytes = 1U << 20U)
      : journal(io.get_executor(), pool, journal_options{dir / "webhook-journal", max_bytes, std::chrono::hours(24)}),
        undelivered(journal.open()) {}
  ~opened() { pool.join(); }
  opened(const opened&) = delete;
  opened& operator=(const opened&) = delete;

  std::string append(const std::string& id, const std::string& key, const std::string& payload) {
    const webhook_event e{"github", "push", boost::json::parse(payload)};
    return run_async(io, journal.append(id, key, e, payload));
  }
  // Lets the commits queued so far reach the disk.
  void settle() {
    io.restart();
    io.run();
    pool.wait();
    io.restart();
    io.run();
  }
};

}  // namespace

TEST_CASE("events appended and not marked done come back, in order, with their delivery ids") {
  scratch s;
  {
    opened j(s.dir);
    CHECK(j.undelivered.empty());
    CHECK(j.append("id-1", "gh-1", R"({"n":1})").empty());
    CHECK(j.append("id-2", "", R"({"n":2,"s":"a\nb"})").empty());
    CHECK(j.append("id-3", "gh-3", "[3]").empty());
    j.journal.mark_done("id-1");
    j.settle();
    CHECK(j.journal.undelivered() == 2);
  }
  opened again(s.dir);
  REQUIRE(again.undelivered.size() == 2);
  CHECK(again.undelivered[0].id == "id-2");
  CHECK(again.undelivered[0].delivery_id == "id-2");  // no sender id: ours
  CHECK(again.undelivered[0].event.payload == boost::json::parse(R"({"n":2,"s":"a\nb"})"));
  CHECK(again.undelivered[1].delivery_id == "gh-3");
  CHECK(again.undelivered[1].event.source == "github");
  CHECK(again.undelivered[1].event.type == "push");
  // The sender's ids stay known across the restart.
  CHECK(again.journal.admit("gh-1", 10) == webhook_journal::admission::duplicate);
  CHECK(again.journal.admit("gh-2", 10) == webhook_journal::admission::accept);
}

TEST_CASE("a record torn by a crash ends what is read, and the file is rewritten whole") {
  scratch s;
  {
    opened j(s.dir);
    CHECK(j.append("id-1", "", "1").empty());
    CHECK(j.append("id-2", "", "2").empty());
  }
  const auto file = s.dir / "webhook-journal" / "journal.log";
  const auto whole = *cascadence::scheduling::read_file_if_exists(file);
  std::ofstream(file, std::ios::binary | std::ios::trunc) << whole.substr(0, whole.size() - 5);
  {
    opened j(s.dir);
    REQUIRE(j.undelivered.size() == 1);
    CHECK(j.undelivered[0].id == "id-1");
    CHECK(j.append("id-3", "", "3").empty());  // after the rewrite, not after the torn bytes
  }
  opened again(s.dir);
  REQUIRE(again.undelivered.size() == 2);
  CHECK(again.undelivered[1].id == "id-3");
}

TEST_CASE("a full journal refuses until delivered events are compacted away") {
  scratch s;
  opened j(s.dir, 65536);
  const std::string payload = "\"" + std::string(8000, 'x') + "\"";
  int accepted = 0;
  while (j.journal.admit("", payload.size()) == webhook_journal::admission::accept) {
    REQUIRE(j.append("id-" + std::to_string(accepted), "", payload).empty());
    ++accepted;
    REQUIRE(accepted < 20);
  }
  CHECK(accepted >= 5);
  CHECK(j.journal.bytes() <= 65536);
  for (int i = 0; i < accepted; ++i) j.journal.mark_done("id-" + std::to_string(i));
  j.settle();
  CHECK(j.journal.admit("", payload.size()) == webhook_journal::admission::accept);
  CHECK(j.journal.bytes() < 65536 / 4);
}

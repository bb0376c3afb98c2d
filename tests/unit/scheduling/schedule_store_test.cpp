#include "scheduling/schedule_store.hpp"
#include "scheduling/atomic_file.hpp"
#include "scheduling/fire_state_store.hpp"
#include "scheduling/task_state_store.hpp"

#include <doctest/doctest.h>

#include <unistd.h>
#include <filesystem>
#include <fstream>

using namespace cascadence::scheduling;
using namespace std::chrono_literals;

namespace {

struct scratch {
  scratch() {
    auto templ = (std::filesystem::temp_directory_path() / "cascadence-schedules-XXXXXX").string();
    dir = ::mkdtemp(templ.data());
  }
  ~scratch() { std::filesystem::remove_all(dir); }
  std::filesystem::path dir;
};

schedule_entry entry(std::string task, std::string expr) {
  schedule_entry e;
  e.task = std::move(task);
  e.expression = std::move(expr);
  return e;
}

}  // namespace

TEST_CASE("a schedule with default policies is written in the plain form") {
  scratch s;
  schedule_store store(s.dir / "schedules.yml");
  store.update([](auto& entries) { entries.push_back(entry("example", "0 12 * * *")); });
  CHECK(read_file_if_exists(s.dir / "schedules.yml") == "example: \"0 12 * * *\"\n");
  const auto back = store.load();
  REQUIRE(back.entries.size() == 1);
  CHECK(back.entries[0] == entry("example", "0 12 * * *"));
}

TEST_CASE("a schedule with policies is written as a mapping and read back equal") {
  scratch s;
  schedule_store store(s.dir / "schedules.yml");
  auto e = entry("report", "*/5 * * * *");
  e.timezone = "Europe/Berlin";
  e.policy.overlap = overlap_policy::cancel_other;
  e.policy.catchup_window = 5min;
  e.policy.jitter = 1500ms;
  e.paused = true;
  store.update([&](auto& entries) { entries.push_back(e); });
  const auto text = *read_file_if_exists(s.dir / "schedules.yml");
  CHECK(text.find("overlap: cancel_other") != std::string::npos);
  CHECK(text.find("jitter: 1s500ms") != std::string::npos);
  CHECK(store.load().entries.at(0) == e);
}

TEST_CASE("entries that cannot be decoded are reported and written back") {
  scratch s;
  const auto file = s.dir / "schedules.yml";
  std::ofstream(file) << "a: \"0 1 * * *\"\nb: {schedule: \"0 2 * * *\", colour: red}\nc: [1, 2]\n";
  schedule_store store(file);
  const auto loaded = store.load();
  CHECK(loaded.entries.size() == 1);
  REQUIRE(loaded.undecodable.size() == 2);
  CHECK(loaded.undecodable[0].key == "b");
  CHECK(loaded.undecodable[0].problem == file.string() + ":2:28: unknown key 'colour'");
  store.update([](auto& entries) { entries.push_back(entry("d", "0 4 * * *")); });
  const auto after = store.load();
  CHECK(after.entries.size() == 2);
  CHECK(after.undecodable.size() == 2);
}

TEST_CASE("a schedules file that is not a mapping is refused and left alone") {
  scratch s;
  const auto file = s.dir / "schedules.yml";
  std::ofstream(file) << "- just\n- a list\n";
  schedule_store store(file);
  CHECK_THROWS_AS(store.update([](auto& entries) { entries.push_back(entry("x", "* * * * *")); }), state_error);
  CHECK(read_file_if_exists(file) == "- just\n- a list\n");
}

TEST_CASE("fire times survive a round trip") {
  scratch s;
  fire_state_store store(s.dir / "fire-state.yml");
  CHECK(store.load().empty());
  fire_state_store::times t{{"true", std::chrono::sys_seconds(1795701600s)}, {"x.y-z", std::chrono::sys_seconds(1s)}};
  store.save(t);
  CHECK(store.load() == t);
}

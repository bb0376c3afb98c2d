#include "scheduling/schedule_store.hpp"
#include "scheduling/atomic_file.hpp"
#include "scheduling/fire_state_store.hpp"
#include "scheduling/task_state_store.hpp"

#include <doctest/doctest.h>

#include <unistd.h>
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>

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

namespace {

fire_state_store::times fired_at(std::int64_t seconds, std::size_t tasks = 3) {
  fire_state_store::times t;
  for (std::size_t i = 0; i < tasks; ++i)
    t["task-" + std::to_string(i)] = std::chrono::sys_seconds(std::chrono::seconds(seconds));
  return t;
}

void write(const std::filesystem::path& file, const std::string& text) {
  std::ofstream(file, std::ios::binary | std::ios::trunc) << text;
}

}  // namespace

TEST_CASE("fire state saves take turns between two files, and load takes the newest") {
  scratch s;
  const auto main_file = s.dir / "fire-state.yml";
  const auto alt_file = s.dir / "fire-state.alt.yml";
  fire_state_store store(main_file);
  CHECK(store.load().empty());
  store.save(fired_at(100));
  CHECK(std::filesystem::exists(main_file));
  CHECK_FALSE(std::filesystem::exists(alt_file));
  store.save(fired_at(200));
  CHECK(std::filesystem::exists(alt_file));
  store.save(fired_at(300));
  CHECK(read_file_if_exists(main_file)->find("\"task-0\": 300\n") != std::string::npos);
  CHECK(read_file_if_exists(alt_file)->find("\"task-0\": 200\n") != std::string::npos);
  CHECK(fire_state_store(main_file).load() == fired_at(300));

  // A second store (a restart) goes on from the newest save, over the older file.
  fire_state_store restarted(main_file);
  CHECK(restarted.load() == fired_at(300));
  restarted.save(fired_at(400));
  CHECK(read_file_if_exists(alt_file)->find("\"task-0\": 400\n") != std::string::npos);
  CHECK(fire_state_store(main_file).load() == fired_at(400));
}

TEST_CASE("a save torn by a crash leaves the save before it") {
  scratch s;
  const auto main_file = s.dir / "fire-state.yml";
  const auto alt_file = s.dir / "fire-state.alt.yml";
  fire_state_store store(main_file);
  store.save(fired_at(100));
  store.save(fired_at(200));  // the newest, in the alternate file
  const auto whole = *read_file_if_exists(alt_file);
  for (const std::size_t cut : {std::size_t{0}, std::size_t{5}, std::size_t{30}, whole.size() / 2, whole.size() - 1}) {
    CAPTURE(cut);
    write(alt_file, whole.substr(0, cut));
    CHECK(fire_state_store(main_file).load() == fired_at(100));
  }
  // New bytes over the start of an older save: a mix the checksum refuses.
  auto mixed = whole;
  mixed[mixed.find(": 200") + 2] = '9';
  write(alt_file, mixed);
  CHECK(fire_state_store(main_file).load() == fired_at(100));
  // The next save goes over the torn file, not over the whole one.
  fire_state_store after_crash(main_file);
  CHECK(after_crash.load() == fired_at(100));
  after_crash.save(fired_at(300));
  CHECK(read_file_if_exists(main_file)->find("\"task-0\": 100\n") != std::string::npos);
  CHECK(fire_state_store(main_file).load() == fired_at(300));
}

TEST_CASE("a shorter save over a longer one cuts the old tail off") {
  scratch s;
  const auto main_file = s.dir / "fire-state.yml";
  fire_state_store store(main_file);
  store.save(fired_at(100, 50));
  store.save(fired_at(100, 50));
  store.save(fired_at(200, 1));  // over the first, 50 entries long
  const auto text = *read_file_if_exists(main_file);
  CHECK(text.find("task-1\"") == std::string::npos);
  CHECK(fire_state_store(main_file).load() == fired_at(200, 1));
}

TEST_CASE("the single fire state file of earlier versions is read, and kept until its turn") {
  scratch s;
  const auto main_file = s.dir / "fire-state.yml";
  write(main_file, "# last nominal fire time of each schedule, in Unix seconds (UTC)\n\"task-0\": 100\n");
  fire_state_store store(main_file);
  CHECK(store.load() == fired_at(100, 1));
  store.save(fired_at(200, 1));
  CHECK(read_file_if_exists(main_file)->find("\"task-0\": 100") != std::string::npos);
  CHECK(fire_state_store(main_file).load() == fired_at(200, 1));
}

namespace {
// The files of `dir` whose names start with `prefix`.
std::vector<std::string> files_starting(const std::filesystem::path& dir, const std::string& prefix) {
  std::vector<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    if (e.path().filename().string().starts_with(prefix)) out.push_back(e.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}
}  // namespace

TEST_CASE("fire state files that hold no whole save are moved aside with both names, never saved over") {
  scratch s;
  const auto main_file = s.dir / "fire-state.yml";
  const std::string torn_main = "# cascadence fire state: generation 3, 999 bytes, fnv1a64 0\n\"t\": 1\n";
  write(main_file, torn_main);
  write(s.dir / "fire-state.alt.yml", "# cascadence fire state: gen");
  fire_state_store store(main_file);
  CHECK(store.load().empty());
  REQUIRE(store.problems().size() == 2);
  CHECK(store.problems()[0].starts_with(main_file.string() + ": not a whole save"));
  CHECK(store.problems()[1].find("fire-state.alt.yml: not a whole save") != std::string::npos);
  CHECK(store.problems()[0].find("kept as fire-state.yml.corrupt-") != std::string::npos);
  const auto aside = files_starting(s.dir, "fire-state.yml.corrupt-");
  REQUIRE(aside.size() == 1);
  CHECK(*read_file_if_exists(s.dir / aside[0]) == torn_main);
  CHECK(files_starting(s.dir, "fire-state.alt.yml.corrupt-").size() == 1);
  // The scheduler then starts without the state, and its saves make it whole again.
  store.save(fired_at(100, 1));
  CHECK(fire_state_store(main_file).load() == fired_at(100, 1));
}

TEST_CASE("a hand-corrupted fire state file is kept aside before a save could overwrite it") {
  struct bad final {
    const char* what;
    std::string text;
    const char* reason;
  };
  const bad cases[] = {
      {"binary garbage",
       std::string("\x7f"
                   "ELF\x02\x01\x01\0\0\xff\xfe",
                   12),
       "fire-state.yml:1:"},
      {"wrong shape", "- a\n- b\n", "fire-state.yml:1:1: expected a mapping of task names to Unix seconds"},
      {"wrong value", "\"a\": 1\n\"b\": soon\n", "fire-state.yml:2:6: expected Unix seconds"},
  };
  for (const auto& c : cases) {
    CAPTURE(c.what);
    scratch s;
    const auto main_file = s.dir / "fire-state.yml";
    write(main_file, c.text);
    fire_state_store store(main_file);
    CHECK(store.load().empty());
    REQUIRE(store.problems().size() == 1);
    CHECK(store.problems()[0].find(c.reason) != std::string::npos);
    // Saves after it, as many as the scheduler makes, never touch the kept copy.
    for (int i = 0; i < 4; ++i) store.save(fired_at(100 + i, 1));
    const auto aside = files_starting(s.dir, "fire-state.yml.corrupt-");
    REQUIRE(aside.size() == 1);
    CHECK(*read_file_if_exists(s.dir / aside[0]) == c.text);
    CHECK(fire_state_store(main_file).load() == fired_at(103, 1));
  }
}

TEST_CASE("a corrupted file beside a whole save is kept aside, and the whole save used") {
  scratch s;
  const auto main_file = s.dir / "fire-state.yml";
  fire_state_store store(main_file);
  store.save(fired_at(100, 1));
  store.save(fired_at(200, 1));  // the alternate file, the newest
  write(s.dir / "fire-state.alt.yml", "\"task-0\": [not, a, time]\n");
  fire_state_store restarted(main_file);
  CHECK(restarted.load() == fired_at(100, 1));
  REQUIRE(restarted.problems().size() == 1);
  CHECK(restarted.problems()[0].find("fire-state.alt.yml:1:11: expected Unix seconds") != std::string::npos);
  CHECK(files_starting(s.dir, "fire-state.alt.yml.corrupt-").size() == 1);
  // A save of ours torn by a crash beside a whole one is not a problem.
  restarted.save(fired_at(300, 1));
  write(s.dir / "fire-state.alt.yml", read_file_if_exists(s.dir / "fire-state.alt.yml")->substr(0, 30));
  fire_state_store again(main_file);
  CHECK(again.load() == fired_at(100, 1));
  CHECK(again.problems().empty());
}

TEST_CASE("names that need escapes, or longer than a YAML key may be, survive a fire state save") {
  // Found by fuzz_fire_state_store: names read from an edited file were
  // written back unescaped, or as keys over YAML's 1024 characters, and the
  // next load refused the file.
  scratch s;
  fire_state_store store(s.dir / "fire-state.yml");
  const fire_state_store::times t{{"a\"b", std::chrono::sys_seconds(1s)},
                                  {"back\\slash", std::chrono::sys_seconds(2s)},
                                  {"tab\tand\x05", std::chrono::sys_seconds(3s)},
                                  {std::string(300, '\x01'), std::chrono::sys_seconds(4s)},
                                  {std::string(2000, 'n'), std::chrono::sys_seconds(5s)}};
  store.save(t);
  CHECK(fire_state_store(s.dir / "fire-state.yml").load() == t);
}

TEST_CASE("a schedules file that is not UTF-8 is read, but never rewritten") {
  // Found by fuzz_schedule_store: yaml-cpp writes U+FFFD for bytes that are
  // not UTF-8, so the rewrite changed an entry it promises to keep.
  scratch s;
  const auto file = s.dir / "schedules.yml";
  const std::string text = "ok: \"@daily\"\n\"caf\xe9\": [1]\n";
  write(file, text);
  schedule_store store(file);
  const auto read = store.load();
  CHECK(read.entries.size() == 1);
  REQUIRE(read.undecodable.size() == 1);
  CHECK(read.undecodable[0].key == "caf\xe9");
  CHECK_THROWS_WITH_AS(store.update([](auto& entries) { entries.push_back(entry("x", "* * * * *")); }),
                       doctest::Contains("schedules.yml:2:5: not UTF-8 text"), state_error);
  CHECK(read_file_if_exists(file) == text);
}

TEST_CASE("a task state file that is not UTF-8 is read, but never rewritten") {
  scratch s;
  const auto file = s.dir / "task-state.yml";
  const std::string text = "enabled:\n  caf\xe9: false\n";
  write(file, text);
  task_state_store store(file);
  CHECK(store.load() == std::map<std::string, bool>{{"caf\xe9", false}});
  CHECK_THROWS_WITH_AS(store.set_enabled("example", false), doctest::Contains("task-state.yml:2:6: not UTF-8"),
                       state_error);
  CHECK(read_file_if_exists(file) == text);
}

TEST_CASE("names longer than a YAML key may be are written as explicit keys and read back") {
  // Found by fuzz_task_state_store: yaml-cpp writes a key of more than 1024
  // characters as an implicit key, which its reader refuses.
  scratch s;
  const std::string name(1100, 'n');
  task_state_store states(s.dir / "task-state.yml");
  states.set_enabled(name, false);
  states.set_enabled("example", true);
  CHECK(states.load() == std::map<std::string, bool>{{"example", true}, {name, false}});
  CHECK(read_file_if_exists(s.dir / "task-state.yml")->starts_with("enabled:\n  example: true\n  ? "));

  schedule_store schedules(s.dir / "schedules.yml");
  write(s.dir / "schedules.yml", "\"" + std::string(300, '\x01') + "\": [1]\n");
  schedules.update([&](auto& entries) { entries.push_back(entry(name, "@daily")); });
  const auto back = schedules.load();
  REQUIRE(back.entries.size() == 1);
  CHECK(back.entries[0].task == name);
  REQUIRE(back.undecodable.size() == 1);
  CHECK(back.undecodable[0].key == std::string(300, '\x01'));
}

TEST_CASE("an update that would write a schedules file that does not read back is refused") {
  // An undecodable entry is written back as yaml-cpp emits it, and it emits
  // a long key nested in it in a form it does not read.
  scratch s;
  const auto file = s.dir / "schedules.yml";
  const std::string text = "odd: {? \"" + std::string(1100, 'k') + "\"\n: 1}\n";
  write(file, text);
  schedule_store store(file);
  REQUIRE(store.load().undecodable.size() == 1);
  CHECK_THROWS_WITH_AS(store.update([](auto& entries) { entries.push_back(entry("x", "@daily")); }),
                       doctest::Contains("does not read back the same"), state_error);
  CHECK(read_file_if_exists(file) == text);
}

TEST_CASE("an update whose file would read back different is refused and leaves the file") {
  // Found by fuzz_schedule_store and fuzz_task_state_store: yaml-cpp writes a
  // plain scalar ending in CR (read from a file whose last line ends in a
  // bare CR), and names with control characters and NUL read from a plain
  // scalar, in forms that read back otherwise.
  scratch s;
  const auto schedules_file = s.dir / "schedules.yml";
  const std::string schedules_text = "report:\n  schedule: \"0 7 * * *\"\n  timezone: Europe/Paris\r";
  write(schedules_file, schedules_text);
  schedule_store schedules(schedules_file);
  CHECK_THROWS_WITH_AS(schedules.update([](auto& entries) { entries.push_back(entry("x", "@daily")); }),
                       doctest::Contains("does not read back the same"), state_error);
  CHECK(read_file_if_exists(schedules_file) == schedules_text);

  const auto states_file = s.dir / "task-state.yml";
  const std::string states_text(
      "enabled:\n \x17"
      "e\0Nt: false",
      22);
  write(states_file, states_text);
  task_state_store states(states_file);
  CHECK(states.load().size() == 1);
  CHECK_THROWS_WITH_AS(states.set_enabled("example", true), doctest::Contains("does not read back the same"),
                       state_error);
  CHECK(read_file_if_exists(states_file) == states_text);
}

TEST_CASE("set_policy decodes the policy keys as every caller spells them, and refuses bad text unchanged") {
  using cascadence::scheduling::schedule_policy;
  schedule_policy p;
  CHECK(cascadence::scheduling::is_policy_key("overlap"));
  CHECK(cascadence::scheduling::is_policy_key("jitter"));
  CHECK_FALSE(cascadence::scheduling::is_policy_key("paused"));
  CHECK_FALSE(cascadence::scheduling::set_policy(p, "overlap", "buffer_all").has_value());
  CHECK(p.overlap == cascadence::scheduling::overlap_policy::buffer_all);
  CHECK_FALSE(cascadence::scheduling::set_policy(p, "catchup_window", "1h30m").has_value());
  CHECK(p.catchup_window == std::chrono::minutes(90));
  CHECK_FALSE(cascadence::scheduling::set_policy(p, "jitter", "500ms").has_value());
  CHECK(p.jitter == std::chrono::milliseconds(500));
  const auto before = p;
  CHECK(cascadence::scheduling::set_policy(p, "overlap", "sometimes")
            .value()
            .starts_with("unknown overlap policy 'sometimes' (known: skip"));
  CHECK(
      cascadence::scheduling::set_policy(p, "jitter", "5 minutes").value().starts_with("invalid duration '5 minutes'"));
  CHECK(p == before);
}

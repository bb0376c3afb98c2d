#include "scheduling/atomic_file.hpp"
#include "scheduling/task_state_store.hpp"

#include <doctest/doctest.h>

#include <sys/wait.h>
#include <unistd.h>
#include <filesystem>
#include <fstream>
#include <string>

using namespace cascadence::scheduling;

namespace {

std::filesystem::path make_scratch() {
  auto templ = (std::filesystem::temp_directory_path() / "cascadence-atomic-XXXXXX").string();
  return ::mkdtemp(templ.data());
}

}  // namespace

TEST_CASE("an atomic write replaces the file and leaves no temporary behind") {
  const auto dir = make_scratch();
  const auto file = dir / "state.yml";
  CHECK_FALSE(read_file_if_exists(file).has_value());
  write_file_atomically(file, "one\n");
  write_file_atomically(file, "two\n");
  CHECK(read_file_if_exists(file) == "two\n");
  CHECK(std::distance(std::filesystem::directory_iterator(dir), std::filesystem::directory_iterator()) == 1);
  std::filesystem::remove_all(dir);
}

TEST_CASE("temporaries left by writers that died are removed at the next write, a live writer's kept") {
  const auto dir = make_scratch();
  const auto file = dir / "schedules.yml";
  // A pid that no longer runs: a child that exited and was reaped.
  const pid_t dead = ::fork();
  if (dead == 0) ::_exit(0);
  REQUIRE(dead > 0);
  int status = 0;
  REQUIRE(::waitpid(dead, &status, 0) == dead);
  const auto stale = dir / (".schedules.yml.tmp." + std::to_string(dead) + ".12345");
  const auto live = dir / (".schedules.yml.tmp." + std::to_string(::getppid()) + ".678");
  const auto other = dir / (".other.yml.tmp." + std::to_string(dead) + ".9");
  for (const auto& p : {stale, live, other}) std::ofstream(p) << std::string(1000, 'x');
  write_file_atomically(file, "a: 1\n");
  CHECK_FALSE(std::filesystem::exists(stale));
  CHECK(std::filesystem::exists(live));   // its writer may still rename it
  CHECK(std::filesystem::exists(other));  // another file's, removed by its own next write
  CHECK(read_file_if_exists(file) == "a: 1\n");
  std::filesystem::remove_all(dir);
}

TEST_CASE("a failed atomic write keeps the old file and says which path failed") {
  const auto dir = make_scratch();
  const auto blocker = dir / "not-a-dir";
  std::ofstream(blocker) << "x";
  CHECK_THROWS_AS(write_file_atomically(blocker / "state.yml", "new"), std::system_error);
  CHECK(read_file_if_exists(blocker) == "x");
  std::filesystem::remove_all(dir);
}

TEST_CASE("the state store keeps every task's override") {
  const auto dir = make_scratch();
  task_state_store store(dir / "task-state.yml");
  CHECK(store.load().empty());
  store.set_enabled("a", false);
  store.set_enabled("b", true);
  const auto state = task_state_store(dir / "task-state.yml").load();
  CHECK(state.at("a") == false);
  CHECK(state.at("b") == true);
  std::filesystem::remove_all(dir);
}

TEST_CASE("a state file that does not parse is reported and never overwritten") {
  const auto dir = make_scratch();
  const auto file = dir / "task-state.yml";
  std::ofstream(file) << "enabled: [unclosed\n";
  task_state_store store(file);
  CHECK_THROWS_AS(store.set_enabled("a", false), state_error);
  CHECK(read_file_if_exists(file) == "enabled: [unclosed\n");
  std::ofstream(file, std::ios::trunc) << "enabled: {a: maybe}\n";
  CHECK_THROWS_WITH_AS((void)store.load(), (file.string() + ":1:14: expected true or false").c_str(), state_error);
  std::filesystem::remove_all(dir);
}

#include "plugins/registry.hpp"
#include "tests/unit/plugins/test_plugins.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <sstream>

using namespace cascadence::plugins;
using cascadence::test::scratch_dir;
using cascadence::test::test_plugin;
namespace fs = std::filesystem;

namespace {

void copy_plugin(const std::string& name, const fs::path& to) {
  fs::copy_file(test_plugin(name), to, fs::copy_options::overwrite_existing);
}

}  // namespace

TEST_CASE("every *.so of a directory is loaded; a bad one is reported and the others still load") {
  const scratch_dir dir;
  fs::create_directories(dir / "plugins");
  copy_plugin("good", dir / "plugins" / "good.so");
  copy_plugin("abi_major", dir / "plugins" / "abi_major.so");
  copy_plugin("no_entry", dir / "plugins" / "no_entry.so");
  std::ostringstream log;
  load_options options;
  options.cache_dir = dir / "cache";
  options.log = &log;
  auto loaded = load_plugins({{dir / "plugins", std::nullopt, "test"}}, options);
  CHECK(loaded.errors ==
        std::vector<std::string>{
            (dir / "plugins" / "abi_major.so").string() + ": ABI major 2, this host speaks 1",
            (dir / "plugins" / "no_entry.so").string() + ": missing entry symbol cascadence_plugin_entry",
        });
  REQUIRE(loaded.plugins->providers().size() == 1);
  CHECK(loaded.plugins->providers()[0]->descriptor().name == "good");
  const auto* noop = loaded.plugins->find("good.noop");
  REQUIRE(noop != nullptr);
  CHECK(noop->descriptor.index == 0);
  CHECK(loaded.plugins->find("bad.first") == nullptr);
  CHECK(loaded.plugins->directories() == std::vector<fs::path>{dir / "plugins"});
}

TEST_CASE("a duplicate processor name refuses the second plugin, naming both paths") {
  const scratch_dir dir;
  load_options options;
  options.cache_dir = dir / "cache";
  auto loaded =
      load_plugins({{test_plugin("good"), std::nullopt, "test"}, {test_plugin("duplicate"), {}, "test"}}, options);
  CHECK(loaded.errors == std::vector<std::string>{test_plugin("duplicate").string() +
                                                  ": refused: processor \"good.noop\" is already provided by " +
                                                  test_plugin("good").string()});
  CHECK(loaded.plugins->find("dup.own") == nullptr);
  CHECK(loaded.plugins->providers().size() == 1);
}

TEST_CASE("a missing plugin file is reported with where it was named") {
  const scratch_dir dir;
  load_options options;
  options.cache_dir = dir / "cache";
  auto loaded = load_plugins({{dir / "none.so", std::nullopt, "cascadence.yml:3:5"}}, options);
  CHECK(loaded.errors == std::vector<std::string>{(dir / "none.so").string() +
                                                  ": no such file or directory (named by cascadence.yml:3:5)"});
  CHECK(loaded.plugins->empty());
}

TEST_CASE("Go plugins default to isolation: process, and one process admits one in-process Go plugin") {
  const scratch_dir dir;
  load_options options;
  options.cache_dir = dir / "cache";
  options.host_program = CASCADENCE_PLUGIN_HOST_PROGRAM;
  // Each in a plugin host process of its own: two Go runtimes, two processes.
  auto by_default = load_plugins(
      {{test_plugin("fake_go"), std::nullopt, "test"}, {test_plugin("fake_go2"), std::nullopt, "test"}}, options);
  CHECK(by_default.errors.empty());
  REQUIRE(by_default.plugins->find("gofirst.a") != nullptr);
  REQUIRE(by_default.plugins->find("gosecond.b") != nullptr);
  CHECK(by_default.plugins->find("gofirst.a")->provider->isolation() == isolation::process);
  CHECK(by_default.plugins->find("gosecond.b")->provider->isolation() == isolation::process);

  auto in_process = load_plugins({{test_plugin("fake_go"), isolation::in_process, "test"},
                                  {test_plugin("fake_go2"), isolation::in_process, "test"}},
                                 options);
  REQUIRE(in_process.errors.size() == 1);
  CHECK(in_process.errors[0].starts_with(test_plugin("fake_go2").string() +
                                         ": refused: a Go plugin is already loaded in this process ("));
  CHECK(
      in_process.errors[0].ends_with("), and a process holds one Go runtime (load this one with isolation: process)"));
  CHECK(in_process.plugins->find("gofirst.a") != nullptr);
  CHECK(in_process.plugins->find("gosecond.a") == nullptr);
}

TEST_CASE("a reload keeps unchanged plugins and reports what changed") {
  const scratch_dir dir;
  fs::create_directories(dir / "plugins");
  copy_plugin("good", dir / "plugins" / "good.so");
  load_options options;
  options.cache_dir = dir / "cache";
  auto first = load_plugins({{dir / "plugins", std::nullopt, "test"}}, options);
  REQUIRE(first.errors.empty());

  options.previous = first.plugins;
  auto same = load_plugins({{dir / "plugins", std::nullopt, "test"}}, options);
  REQUIRE(same.plugins->providers().size() == 1);
  CHECK(same.plugins->providers()[0] == first.plugins->providers()[0]);
  CHECK(diff(*first.plugins, *same.plugins).empty());

  copy_plugin("good_v2", dir / "plugins" / "good.so");
  copy_plugin("duplicate", dir / "plugins" / "other.so");
  auto changed = load_plugins({{dir / "plugins", std::nullopt, "test"}}, options);
  REQUIRE(changed.plugins->providers().size() == 1);
  CHECK(changed.plugins->providers()[0]->descriptor().version == "2");
  const auto changes = diff(*first.plugins, *changed.plugins);
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].what == plugin_change::kind::reloaded);
  CHECK(changes[0].name == "good");
  CHECK(changes[0].old_sha256 == first.plugins->providers()[0]->file().sha256);
  CHECK(describe(changes[0]) == "plugins: reloaded good (sha256 " + changes[0].old_sha256.substr(0, 12) + " -> " +
                                    changes[0].new_sha256.substr(0, 12) + ")");

  fs::remove(dir / "plugins" / "good.so");
  auto removed = load_plugins({{dir / "plugins", std::nullopt, "test"}}, options);
  const auto gone = diff(*changed.plugins, *removed.plugins);
  REQUIRE(gone.size() == 2);
  CHECK(describe(gone[0]).starts_with("plugins: added dup (" + (dir / "plugins" / "other.so").string()));
  CHECK(describe(gone[1]) == "plugins: removed good (" + (dir / "plugins" / "good.so").string() + ")");
}

TEST_CASE("CASCADENCE_PLUGIN_PATH names colon-separated directories") {
  ::setenv("CASCADENCE_PLUGIN_PATH", "/a::/b/c:", 1);
  const auto sources = sources_from_environment();
  ::unsetenv("CASCADENCE_PLUGIN_PATH");
  REQUIRE(sources.size() == 2);
  CHECK(sources[0].path == "/a");
  CHECK(sources[1].path == "/b/c");
  CHECK(sources[1].origin == "CASCADENCE_PLUGIN_PATH");
  CHECK_FALSE(sources[0].isolation.has_value());
}

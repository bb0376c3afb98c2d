#include "plugins/library.hpp"
#include "plugins/in_process_provider.hpp"
#include "tests/unit/plugins/test_plugins.hpp"

#include <doctest/doctest.h>

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <sstream>

using namespace cascadence::plugins;
using cascadence::test::scratch_dir;
using cascadence::test::test_plugin;
namespace fs = std::filesystem;

namespace {

void write_file(const fs::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// The error make_in_process_provider() gives for a test plugin.
std::string load_error(const std::string& name, std::ostream* log = nullptr) {
  const scratch_dir cache;
  auto file = stage(test_plugin(name), cache.path());
  REQUIRE(file.has_value());
  auto p = make_in_process_provider(file.value(), {nullptr, log});
  REQUIRE_FALSE(p.has_value());
  return p.error();
}

}  // namespace

TEST_CASE("stage copies the file to <cache>/<sha256>.so") {
  const scratch_dir dir;
  write_file(dir / "abc.so", "abc");
  auto file = stage(dir / "abc.so", dir / "cache");
  REQUIRE(file.has_value());
  CHECK(file->sha256 == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  CHECK(file->path == dir / "abc.so");
  CHECK(file->cached == dir / "cache" / (file->sha256 + ".so"));
  CHECK(read_file(file->cached) == "abc");
  // No temporary file is left beside it.
  CHECK(std::distance(fs::directory_iterator(dir / "cache"), fs::directory_iterator()) == 1);
}

TEST_CASE("stage never overwrites a cached file of the same name") {
  const scratch_dir dir;
  write_file(dir / "abc.so", "abc");
  fs::create_directories(dir / "cache");
  const auto cached = dir / "cache" / "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad.so";
  write_file(cached, "already there");
  auto file = stage(dir / "abc.so", dir / "cache");
  REQUIRE(file.has_value());
  CHECK(read_file(cached) == "already there");
}

TEST_CASE("stage refuses a world-writable file, naming it") {
  const scratch_dir dir;
  write_file(dir / "p.so", "x");
  fs::permissions(dir / "p.so", fs::perms::others_write, fs::perm_options::add);
  auto file = stage(dir / "p.so", dir / "cache");
  REQUIRE_FALSE(file.has_value());
  CHECK(file.error() == (dir / "p.so").string() + ": refused: the file is world-writable");
  CHECK_FALSE(fs::exists(dir / "cache"));
}

TEST_CASE("stage refuses a file in a world-writable directory") {
  const scratch_dir dir;
  fs::create_directories(dir / "open");
  write_file(dir / "open" / "p.so", "x");
  fs::permissions(dir / "open", fs::perms::all);
  auto file = stage(dir / "open" / "p.so", dir / "cache");
  REQUIRE_FALSE(file.has_value());
  CHECK(file.error() == (dir / "open" / "p.so").string() + ": refused: its directory " + (dir / "open").string() +
                            " is world-writable");
}

TEST_CASE("stage refuses a file owned by another user") {
  if (::geteuid() != 0) {
    MESSAGE("skipped: only root can give a file to another user");
    return;
  }
  const scratch_dir dir;
  write_file(dir / "p.so", "x");
  REQUIRE(::chown((dir / "p.so").c_str(), 65534, 65534) == 0);
  auto file = stage(dir / "p.so", dir / "cache");
  REQUIRE_FALSE(file.has_value());
  CHECK(file.error() == (dir / "p.so").string() + ": refused: owned by uid 65534, not by this user (uid 0)");
}

TEST_CASE("stage refuses a missing file and a world-writable cache") {
  const scratch_dir dir;
  auto missing = stage(dir / "none.so", dir / "cache");
  REQUIRE_FALSE(missing.has_value());
  CHECK(missing.error() == (dir / "none.so").string() + ": cannot open (No such file or directory)");

  write_file(dir / "p.so", "x");
  fs::create_directories(dir / "cache");
  fs::permissions(dir / "cache", fs::perms::all);
  auto file = stage(dir / "p.so", dir / "cache");
  REQUIRE_FALSE(file.has_value());
  CHECK(file.error() ==
        (dir / "p.so").string() + ": refused: the plugin cache " + (dir / "cache").string() + " is world-writable");
}

TEST_CASE("the default cache directory follows CASCADENCE_HOME, then XDG_CACHE_HOME, then HOME") {
  const std::string home = std::getenv("HOME") != nullptr ? std::getenv("HOME") : "";
  ::setenv("CASCADENCE_HOME", "/srv/cas", 1);
  ::setenv("XDG_CACHE_HOME", "/xdg", 1);
  CHECK(default_cache_dir() == "/srv/cas/plugin-cache");
  ::unsetenv("CASCADENCE_HOME");
  CHECK(default_cache_dir() == "/xdg/cascadence/plugins");
  ::unsetenv("XDG_CACHE_HOME");
  ::setenv("HOME", "/home/someone", 1);
  CHECK(default_cache_dir() == "/home/someone/.cache/cascadence/plugins");
  ::setenv("HOME", home.c_str(), 1);
}

TEST_CASE("Go binaries are recognised by their build-info magic, also across a read boundary") {
  const scratch_dir dir;
  std::string content(1 << 20, 'x');
  content.replace(content.size() - 5, 5, "\xff Go ");
  content += "buildinf:\x08\x02";
  write_file(dir / "go.so", content);
  write_file(dir / "plain.so", std::string(3 << 20, 'y'));
  CHECK(is_go_binary(dir / "go.so"));
  CHECK_FALSE(is_go_binary(dir / "plain.so"));
  CHECK(is_go_binary(test_plugin("fake_go")));
  CHECK_FALSE(is_go_binary(test_plugin("good")));
}

TEST_CASE("processor names follow the header's rule") {
  CHECK(valid_processor_name("acme.http_probe"));
  CHECK(valid_processor_name("_x-1.y"));
  CHECK(valid_processor_name(std::string(128, 'a')));
  CHECK_FALSE(valid_processor_name(std::string(129, 'a')));
  CHECK_FALSE(valid_processor_name(""));
  CHECK_FALSE(valid_processor_name(".acme"));
  CHECK_FALSE(valid_processor_name("-acme"));
  CHECK_FALSE(valid_processor_name("acme probe"));
  CHECK_FALSE(valid_processor_name("acme/probe"));
}

TEST_CASE("parse_descriptor reads the info and every processor") {
  auto d = parse_descriptor(R"({"name": "acme", "version": "1.2.0", "runtime": "cpp", "unload_safe": true})",
                            {R"({"name": "acme.a", "description": "A"})", R"({"name": "acme.b", "blocking": true})"});
  REQUIRE(d.has_value());
  CHECK(d->name == "acme");
  CHECK(d->version == "1.2.0");
  CHECK(d->runtime == "cpp");
  CHECK(d->unload_safe);
  REQUIRE(d->processors.size() == 2);
  CHECK(d->processors[0].name == "acme.a");
  CHECK(d->processors[0].description == "A");
  CHECK_FALSE(d->processors[0].blocking);
  CHECK(d->processors[1].index == 1);
  CHECK(d->processors[1].blocking);
  // Only C and C++ may be unloaded.
  auto rust = parse_descriptor(R"({"name": "r", "runtime": "rust", "unload_safe": true})", {});
  REQUIRE(rust.has_value());
  CHECK_FALSE(rust->unload_safe);
}

TEST_CASE("parse_descriptor says what is wrong") {
  const auto error = [](std::string_view info, std::vector<std::string_view> procs = {}) {
    auto d = parse_descriptor(info, procs);
    REQUIRE_FALSE(d.has_value());
    return d.error();
  };
  CHECK(error("[1]") == "info is not a JSON object");
  CHECK(error(R"({"runtime": "c"})") == R"(info: no "name" string)");
  CHECK(error(R"({"name": "a"})") == R"(info: no "runtime" string)");
  CHECK(error(R"({"name": "a", "runtime": "java"})") == R"(info: runtime "java" is not one of c, cpp, rust, go)");
  CHECK(error(R"({"name": "a b", "runtime": "c"})") ==
        R"(info: name "a b" is not valid ([A-Za-z0-9_] first, then [A-Za-z0-9_.-], at most 128 bytes))");
  CHECK(error(R"({"name": "a", "runtime": "c", "version": 1})") == R"(info: "version" is not a string)");
  CHECK(error(R"({"name": "a", "runtime": "c"})", {R"({"name": "a.x"})", "[]"}) ==
        "processor 1: descriptor is not a JSON object");
  CHECK(error(R"({"name": "a", "runtime": "c"})", {R"({"description": "x"})"}) == R"(processor 0: no "name" string)");
  CHECK(error(R"({"name": "a", "runtime": "c"})", {R"({"name": "a.x", "blocking": "yes"})"}) ==
        R"(processor 0: "blocking" is not true or false)");
  CHECK(error(R"({"name": "a", "runtime": "c"})", {R"({"name": "a.x"})", R"({"name": "a.x"})"}) ==
        R"(processors 0 and 1 are both named "a.x")");
}

TEST_CASE("open reads the entry, the ABI version and the descriptors, and calls init") {
  const scratch_dir cache;
  auto file = stage(test_plugin("good"), cache.path());
  REQUIRE(file.has_value());
  std::ostringstream log;
  auto p = make_in_process_provider(file.value(), {nullptr, &log});
  REQUIRE(p.has_value());
  const auto& d = p.value()->descriptor();
  CHECK(d.name == "good");
  CHECK(d.version == "1");
  CHECK(d.runtime == "cpp");
  CHECK(d.abi_major == 1);
  CHECK(d.abi_minor == 0);
  REQUIRE(d.processors.size() == 13);
  CHECK(d.processors[0].name == "good.noop");
  CHECK(d.processors[9].name == "good.blocking");
  CHECK(d.processors[9].blocking);
  CHECK_FALSE(d.processors[9].immediate);
  CHECK(d.processors[11].immediate);
  CHECK(p.value()->isolation() == isolation::in_process);
  CHECK(p.value()->file().sha256 == file->sha256);
  // init() logged before the info was read: the file's name stands in for the plugin's.
  CHECK(log.str() == "plugin good: info: init\n");
}

TEST_CASE("a plugin without the entry symbol is refused") {
  CHECK(load_error("no_entry") == test_plugin("no_entry").string() + ": missing entry symbol cascadence_plugin_entry");
}

TEST_CASE("a plugin of another ABI major is refused") {
  CHECK(load_error("abi_major") == test_plugin("abi_major").string() + ": ABI major 2, this host speaks 1");
}

TEST_CASE("a plugin whose info is not JSON is refused") {
  CHECK(load_error("info_json") == test_plugin("info_json").string() + ": info is not JSON (incomplete JSON)");
}

TEST_CASE("a plugin with a processor descriptor that is not JSON is refused") {
  CHECK(load_error("descriptor_json") ==
        test_plugin("descriptor_json").string() + ": processor 1: descriptor is not JSON (syntax error)");
}

TEST_CASE("a plugin whose init fails is refused, and what it logged is kept") {
  std::ostringstream log;
  CHECK(load_error("init_fails", &log) == test_plugin("init_fails").string() + ": init() failed with UNAVAILABLE");
  CHECK(log.str() == "plugin init_fails: error: no licence key\n");
}

TEST_CASE("a file that is not a shared library is refused with dlopen's reason") {
  const scratch_dir dir;
  write_file(dir / "text.so", "not an ELF file");
  auto file = stage(dir / "text.so", dir / "cache");
  REQUIRE(file.has_value());
  auto p = make_in_process_provider(file.value(), {});
  REQUIRE_FALSE(p.has_value());
  CHECK(p.error().starts_with((dir / "text.so").string() + ": cannot load (" + file->cached.string() + ": "));
}

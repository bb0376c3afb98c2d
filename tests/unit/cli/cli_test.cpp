#include "cli/cli.hpp"

#include <doctest/doctest.h>

#include <unistd.h>
#include <filesystem>
#include <iostream>
#include <sstream>

namespace {

// Runs cli::main in a fresh directory with stdout and stderr captured.
struct cli_run {
  int status;
  std::string out;
  std::string err;
};

class scratch_dir {
 public:
  scratch_dir() {
    auto templ = (std::filesystem::temp_directory_path() / "cascadence-cli-XXXXXX").string();
    path_ = ::mkdtemp(templ.data());
    old_ = std::filesystem::current_path();
    std::filesystem::current_path(path_);
  }
  ~scratch_dir() {
    std::filesystem::current_path(old_);
    std::filesystem::remove_all(path_);
  }

 private:
  std::filesystem::path path_;
  std::filesystem::path old_;
};

cli_run run(std::vector<std::string> args) {
  std::ostringstream out, err;
  const int status = cascadence::cli::main(std::move(args), out, err);
  return {status, out.str(), err.str()};
}

// The same through the process's streams (the overload without them).
cli_run run_on_process_streams(std::vector<std::string> args) {
  std::ostringstream out, err;
  auto* old_out = std::cout.rdbuf(out.rdbuf());
  auto* old_err = std::cerr.rdbuf(err.rdbuf());
  const int status = cascadence::cli::main(std::move(args));
  std::cout.rdbuf(old_out);
  std::cerr.rdbuf(old_err);
  return {status, out.str(), err.str()};
}

}  // namespace

TEST_CASE("cli::main runs the same parser on an explicit argument vector" * doctest::timeout(20)) {
  scratch_dir dir;
  ::unsetenv("CASCADENCE_CONFIG");
  ::unsetenv("CASCADENCE_HOME");

  const auto empty = run({});
  CHECK(empty.status == cascadence::cli::exit_usage);
  CHECK(empty.err.find("usage: task") != std::string::npos);

  const auto list = run({"list"});
  CHECK(list.status == 0);
  CHECK(list.out == "example\tenabled\n");

  const auto example = run({"run", "example"});
  CHECK(example.status == 0);
  CHECK(example.out == "Example task executed\n");

  CHECK(run({"disable", "example"}).status == 0);
  CHECK(run({"list"}).out == "example\tdisabled\n");
  const auto refused = run({"run", "example"});
  CHECK(refused.status == cascadence::cli::exit_task_failed);
  CHECK(refused.err == "error: task 'example' is disabled (run 'task enable example' to enable it)\n");
  CHECK(run({"enable", "example"}).status == 0);
  CHECK(run({"list"}).out == "example\tenabled\n");

  const auto unknown = run({"run", "nope"});
  CHECK(unknown.status == cascadence::cli::exit_usage);
  CHECK(unknown.err == "error: unknown task 'nope' (known tasks: example)\n");

  const auto bad_command = run({"frobnicate"});
  CHECK(bad_command.status == cascadence::cli::exit_usage);
  CHECK(bad_command.err == "error: unknown command 'frobnicate'; see 'task --help'\n");

  const auto help = run({"run", "--help"});
  CHECK(help.status == 0);
  CHECK(help.out.starts_with("usage: task run NAME..."));
}

TEST_CASE("cli::main without streams writes to the process's standard output and error" * doctest::timeout(20)) {
  scratch_dir dir;
  ::unsetenv("CASCADENCE_CONFIG");
  ::unsetenv("CASCADENCE_HOME");
  const auto list = run_on_process_streams({"list"});
  CHECK(list.status == 0);
  CHECK(list.out == "example\tenabled\n");
  const auto bad = run_on_process_streams({"frobnicate"});
  CHECK(bad.status == cascadence::cli::exit_usage);
  CHECK(bad.err == "error: unknown command 'frobnicate'; see 'task --help'\n");
}

TEST_CASE("cli::main with explicit streams leaves the process's streams alone" * doctest::timeout(20)) {
  scratch_dir dir;
  ::unsetenv("CASCADENCE_CONFIG");
  ::unsetenv("CASCADENCE_HOME");
  std::ostringstream process_out, process_err;
  auto* old_out = std::cout.rdbuf(process_out.rdbuf());
  auto* old_err = std::cerr.rdbuf(process_err.rdbuf());
  const auto example = run({"run", "example"});
  const auto unknown = run({"run", "nope"});
  std::cout.rdbuf(old_out);
  std::cerr.rdbuf(old_err);
  CHECK(example.out == "Example task executed\n");
  CHECK(example.err.find("task example: success") != std::string::npos);
  CHECK(unknown.err == "error: unknown task 'nope' (known tasks: example)\n");
  CHECK(process_out.str().empty());
  CHECK(process_err.str().empty());
}

#include "scheduling/file_watcher.hpp"

#include <doctest/doctest.h>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/error.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <unistd.h>
#include <exception>
#include <filesystem>
#include <fstream>
#include <optional>
#include <vector>

using namespace cascadence::scheduling;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using paths = std::vector<std::filesystem::path>;

namespace {

struct scratch {
  scratch() {
    auto templ = (std::filesystem::temp_directory_path() / "cascadence-watch-XXXXXX").string();
    dir = ::mkdtemp(templ.data());
  }
  ~scratch() { std::filesystem::remove_all(dir); }
  scratch(const scratch&) = delete;
  scratch& operator=(const scratch&) = delete;
  std::filesystem::path dir;
};

void write(const std::filesystem::path& file, const char* text) {
  std::ofstream(file) << text;
}

// What changed() ended with: the files, or the exception.
struct outcome {
  std::optional<paths> changed;
  std::exception_ptr error;
};

// Runs changed(settle) on `io`, calling close() after `close_after` if given.
outcome watch(asio::io_context& io, file_watcher& w, std::chrono::milliseconds settle,
              std::optional<std::chrono::milliseconds> close_after = std::nullopt) {
  outcome out;
  asio::co_spawn(io, w.changed(settle), [&](std::exception_ptr e, paths p) {
    out.error = e;
    if (!e) out.changed = std::move(p);
  });
  asio::steady_timer closer(io);
  if (close_after) {
    closer.expires_after(*close_after);
    closer.async_wait([&](boost::system::error_code ec) {
      if (!ec) w.close();
    });
  }
  io.run();
  return out;
}

bool aborted(const std::exception_ptr& e) {
  try {
    std::rethrow_exception(e);
  } catch (const boost::system::system_error& error) {
    return error.code() == asio::error::operation_aborted;
  } catch (...) {
    return false;
  }
}

}  // namespace

TEST_CASE("a burst of writes to a watched file is one change, reported once it settled" * doctest::timeout(20)) {
  scratch s;
  const auto file = s.dir / "schedules.yml";
  write(file, "a: \"* * * * *\"\n");
  asio::io_context io;
  file_watcher w(io.get_executor(), {file, s.dir / "task-state.yml"});
  write(file, "a: \"0 * * * *\"\n");
  write(file, "a: \"1 * * * *\"\n");
  write(s.dir / "unwatched.yml", "x\n");
  const auto out = watch(io, w, 50ms);
  REQUIRE_FALSE(out.error);
  CHECK(out.changed == paths{file});
}

TEST_CASE("close() while a change settles ends changed() with operation_aborted, not a change" * doctest::timeout(20)) {
  scratch s;
  const auto file = s.dir / "schedules.yml";
  asio::io_context io;
  file_watcher w(io.get_executor(), {file});
  write(file, "a: \"* * * * *\"\n");  // seen at once; then a 10 s settle, cut short by close()
  const auto out = watch(io, w, 10s, 100ms);
  CHECK_FALSE(out.changed);
  REQUIRE(out.error);
  CHECK(aborted(out.error));
}

TEST_CASE("close() while waiting for a first change ends changed() with operation_aborted" * doctest::timeout(20)) {
  scratch s;
  asio::io_context io;
  file_watcher w(io.get_executor(), {s.dir / "schedules.yml"});
  const auto out = watch(io, w, 50ms, 50ms);
  CHECK_FALSE(out.changed);
  REQUIRE(out.error);
  CHECK(aborted(out.error));
}

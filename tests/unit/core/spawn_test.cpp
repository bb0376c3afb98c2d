#include "core/spawn.hpp"

#include <doctest/doctest.h>

#include <boost/asio/io_context.hpp>

#include <stdexcept>
#include <string>
#include <vector>

namespace asio = boost::asio;

namespace {
asio::awaitable<void> fails() {
  throw std::runtime_error("boom");
  co_return;
}
asio::awaitable<void> succeeds(int& ran) {
  ++ran;
  co_return;
}
}  // namespace

TEST_CASE("spawn hands an escaped exception to its handler with the coroutine's name" * doctest::timeout(10)) {
  asio::io_context io;
  std::vector<std::string> heard;
  cascadence::core::spawn(io.get_executor(), fails(), "watcher", [&](std::string_view what, std::string_view why) {
    heard.push_back(std::string(what) + ": " + std::string(why));
  });
  io.run();
  CHECK(heard == std::vector<std::string>{"watcher: boom"});
}

TEST_CASE("spawn runs a coroutine that succeeds without calling the handler" * doctest::timeout(10)) {
  asio::io_context io;
  int ran = 0;
  bool heard = false;
  cascadence::core::spawn(io.get_executor(), succeeds(ran), "job",
                          [&](std::string_view, std::string_view) { heard = true; });
  CHECK(ran == 0);  // not run inside spawn()
  io.run();
  CHECK(ran == 1);
  CHECK_FALSE(heard);
}

TEST_CASE("spawn without a handler still contains the exception" * doctest::timeout(10)) {
  asio::io_context io;
  cascadence::core::spawn(io.get_executor(), fails(), "quiet", {});
  CHECK_NOTHROW(io.run());
}

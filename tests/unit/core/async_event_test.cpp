#include "core/async_event.hpp"

#include "tests/support/run_async.hpp"

#include <doctest/doctest.h>

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>

#include <chrono>
#include <optional>

namespace asio = boost::asio;
using cascadence::core::async_event;
using cascadence::core::wait_group;
using namespace std::chrono_literals;

TEST_CASE("a wait on an event that is already set returns true at once" * doctest::timeout(10)) {
  asio::io_context io;
  async_event e(io.get_executor());
  e.set();
  CHECK(cascadence::test::run_async(io, e.wait()));
}

TEST_CASE("set wakes every waiter, later, not inside the call" * doctest::timeout(10)) {
  asio::io_context io;
  async_event e(io.get_executor());
  int woken = 0;
  for (int i = 0; i < 3; ++i) {
    asio::co_spawn(
        io, [&]() -> asio::awaitable<void> { woken += (co_await e.wait()) ? 1 : 0; },
        [](const std::exception_ptr& x) { REQUIRE(!x); });
  }
  io.poll();
  CHECK(e.waiters() == 3);
  e.set();
  CHECK(woken == 0);
  io.run();
  CHECK(woken == 3);
  CHECK(e.waiters() == 0);
}

TEST_CASE("a waiter woken by set reports it even if reset came before it resumed" * doctest::timeout(10)) {
  asio::io_context io;
  async_event e(io.get_executor());
  std::optional<bool> got;
  asio::co_spawn(
      io, [&]() -> asio::awaitable<void> { got = co_await e.wait(); },
      [](const std::exception_ptr& x) { REQUIRE(!x); });
  io.poll();
  e.set();
  e.reset();
  io.run();
  REQUIRE(got.has_value());
  CHECK(*got);
  CHECK_FALSE(e.is_set());
}

TEST_CASE("wait_until gives false when the deadline passes first" * doctest::timeout(10)) {
  asio::io_context io;
  async_event e(io.get_executor());
  CHECK_FALSE(cascadence::test::run_async(io, e.wait_until(std::chrono::steady_clock::now() + 5ms)));
  CHECK(e.waiters() == 0);
}

TEST_CASE("a cancelled wait returns false and leaves the event usable" * doctest::timeout(10)) {
  asio::io_context io;
  async_event e(io.get_executor());
  asio::cancellation_signal signal;
  std::optional<bool> got;
  asio::co_spawn(
      io, [&]() -> asio::awaitable<void> { got = co_await e.wait(); },
      asio::bind_cancellation_slot(signal.slot(), [](const std::exception_ptr&) {}));
  io.poll();
  signal.emit(asio::cancellation_type::terminal);
  io.run();
  io.restart();
  REQUIRE(got.has_value());
  CHECK_FALSE(*got);
  CHECK(e.waiters() == 0);
  e.set();
  CHECK(cascadence::test::run_async(io, e.wait()));
}

TEST_CASE("a wait group is idle when empty and wakes its waiter when the last token goes" * doctest::timeout(10)) {
  asio::io_context io;
  wait_group g(io.get_executor());
  CHECK(cascadence::test::run_async(io, g.wait_until(std::chrono::steady_clock::now())));
  std::optional<wait_group::token> a(std::in_place, g);
  std::optional<wait_group::token> b(std::in_place, g);
  CHECK(g.count() == 2);
  std::optional<bool> drained;
  asio::co_spawn(
      io, [&]() -> asio::awaitable<void> { drained = co_await g.wait(); },
      [](const std::exception_ptr& x) { REQUIRE(!x); });
  io.poll();
  a.reset();
  io.poll();
  CHECK_FALSE(drained.has_value());
  b.reset();
  io.run();
  REQUIRE(drained.has_value());
  CHECK(*drained);
  CHECK(g.count() == 0);
}

TEST_CASE("a wait group's wait_until gives false while work is still counted" * doctest::timeout(10)) {
  asio::io_context io;
  wait_group g(io.get_executor());
  const wait_group::token busy(g);
  CHECK_FALSE(cascadence::test::run_async(io, g.wait_until(std::chrono::steady_clock::now() + 5ms)));
}

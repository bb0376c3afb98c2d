#include "core/concurrency_limit.hpp"

#include <doctest/doctest.h>

#include <vector>

using cascadence::core::concurrency_limit;

TEST_CASE("a limit hands out permits until it is full, then refuses and counts" * doctest::timeout(10)) {
  std::vector<std::pair<std::size_t, bool>> seen;
  concurrency_limit limit(2, [&](std::size_t n, bool refused) { seen.emplace_back(n, refused); });
  auto a = limit.try_acquire();
  auto b = limit.try_acquire();
  REQUIRE(a.has_value());
  REQUIRE(b.has_value());
  CHECK_FALSE(limit.has_room());
  CHECK_FALSE(limit.try_acquire().has_value());
  CHECK(limit.refused() == 1);
  a.reset();
  CHECK(limit.in_use() == 1);
  CHECK(limit.try_acquire().has_value());  // taken and given back at once
  CHECK(seen == std::vector<std::pair<std::size_t, bool>>{
                    {1, false}, {2, false}, {2, true}, {1, false}, {2, false}, {1, false}});
}

TEST_CASE("a limit of zero never refuses" * doctest::timeout(10)) {
  concurrency_limit limit(0);
  std::vector<concurrency_limit::permit> held;
  for (int i = 0; i < 1000; ++i) held.push_back(*limit.try_acquire());
  CHECK(limit.in_use() == 1000);
  CHECK(limit.has_room(1'000'000));
  CHECK(limit.refused() == 0);
}

TEST_CASE("lowering the limit keeps the permits out and refuses new ones" * doctest::timeout(10)) {
  concurrency_limit limit(3);
  auto a = limit.try_acquire();
  auto b = limit.try_acquire();
  limit.set_limit(1);
  CHECK(limit.in_use() == 2);
  CHECK_FALSE(limit.try_acquire().has_value());
  CHECK_FALSE(limit.has_room(1));
  limit.refuse();
  CHECK(limit.refused() == 2);
  a.reset();
  b.reset();
  CHECK(limit.try_acquire().has_value());
}

TEST_CASE("a moved permit is given back once" * doctest::timeout(10)) {
  concurrency_limit limit(1);
  {
    auto p = limit.try_acquire();
    auto moved = std::move(*p);
    p.reset();
    CHECK(limit.in_use() == 1);
  }
  CHECK(limit.in_use() == 0);
}

#include "engine/duration.hpp"

#include <doctest/doctest.h>

using cascadence::engine::duration_error;
using cascadence::engine::format_duration;
using cascadence::engine::max_duration;
using cascadence::engine::parse_duration;
using namespace std::chrono_literals;

TEST_CASE("durations are whole numbers with units, one or several") {
  CHECK(parse_duration("500ms") == 500ms);
  CHECK(parse_duration("30s") == 30s);
  CHECK(parse_duration("1h30m") == 90min);
  CHECK(parse_duration("2d") == std::chrono::hours(48));
  CHECK(parse_duration("0s") == 0ms);
  CHECK_FALSE(parse_duration(""));
  CHECK_FALSE(parse_duration("5"));
  CHECK_FALSE(parse_duration("-5s"));
  CHECK_FALSE(parse_duration("5 s"));
  CHECK_FALSE(parse_duration("1.5s"));
  CHECK(format_duration(90s) == "1m30s");
}

TEST_CASE("a duration longer than the maximum is refused, never wrapped around") {
  CHECK(parse_duration("3650d") == max_duration);
  CHECK_FALSE(parse_duration("3650d1ms"));
  CHECK_FALSE(parse_duration("1000000d"));
  CHECK_FALSE(parse_duration("106751991167d"));             // overflows nanoseconds, not milliseconds
  CHECK_FALSE(parse_duration("99999999999999999999999d"));  // overflows the count itself
  // What the caller can say: too long, or not a duration at all.
  CHECK(duration_error("1000000d") == "duration '1000000d' is longer than the maximum, 3650d");
  CHECK(duration_error("5 minutes") ==
        "invalid duration '5 minutes' (write a whole number with ms, s, m, h or d, e.g. 30s or 1h30m)");
  CHECK(duration_error("99999999999999999999999d").starts_with("invalid duration"));
}

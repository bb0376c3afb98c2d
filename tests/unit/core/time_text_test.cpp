#include "core/time_text.hpp"

#include <doctest/doctest.h>

using cascadence::core::format_seconds;
using cascadence::core::format_utc;
using namespace std::chrono;

TEST_CASE("format_utc writes ISO 8601 UTC with milliseconds, truncated") {
  const sys_time<microseconds> t = sys_days{year{2026} / 1 / 2} + 3h + 4min + 5s + 678999us;
  CHECK(format_utc(time_point_cast<system_clock::duration>(t)) == "2026-01-02T03:04:05.678Z");
  CHECK(format_utc(system_clock::time_point{}) == "1970-01-01T00:00:00.000Z");
}

TEST_CASE("format_utc is exact before the epoch") {
  CHECK(format_utc(system_clock::time_point{} - 1ms) == "1969-12-31T23:59:59.999Z");
  CHECK(format_utc(system_clock::time_point{} - 1500ms) == "1969-12-31T23:59:58.500Z");
}

TEST_CASE("format_seconds writes seconds with milliseconds") {
  CHECK(format_seconds(412ms) == "0.412s");
  CHECK(format_seconds(0ns) == "0.000s");
  CHECK(format_seconds(90s) == "90.000s");
}

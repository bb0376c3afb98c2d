#include "scheduling/time_zone.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <string_view>

using namespace cascadence::scheduling;
using namespace std::chrono;

namespace {

time_zone zone(std::string_view name) {
  auto r = time_zone::locate(name);
  if (const auto* e = (r ? nullptr : &r.error())) FAIL_CHECK(e->message);
  REQUIRE(r.has_value());
  return r.value();
}

sys_seconds utc(int y, unsigned mo, unsigned d, int h = 0, int mi = 0) {
  return sys_days{year{y} / month{mo} / day{d}} + hours{h} + minutes{mi};
}

local_seconds local(int y, unsigned mo, unsigned d, int h = 0, int mi = 0) {
  return local_days{year{y} / month{mo} / day{d}} + hours{h} + minutes{mi};
}

}  // namespace

TEST_CASE("a default time zone is UTC") {
  const time_zone z;
  CHECK(z.name() == "UTC");
  CHECK(z.offset_at(utc(2026, 7, 1)) == seconds{0});
  CHECK(z == time_zone::utc());
  CHECK(zone("UTC") == z);
}

TEST_CASE("an unknown zone name is an error value") {
  auto r = time_zone::locate("Mars/Olympus_Mons");
  REQUIRE(!r.has_value());
  CHECK(r.error().message == "unknown time zone \"Mars/Olympus_Mons\" (not in the system tz database)");
  CHECK(!(time_zone::locate("")).has_value());
}

TEST_CASE("a zone keeps the name it was located by and compares by it") {
  const auto a = zone("Europe/Berlin");
  CHECK(a.name() == "Europe/Berlin");
  CHECK(a == zone("Europe/Berlin"));
  CHECK_FALSE(a == zone("America/New_York"));
}

TEST_CASE("new york's 2026 spring-forward period starts at 07:00 utc") {
  const auto ny = zone("America/New_York");
  const auto p = ny.period_at(utc(2026, 3, 8, 7));
  CHECK(p.begin == utc(2026, 3, 8, 7));
  CHECK(p.end == utc(2026, 11, 1, 6));
  CHECK(p.offset == hours{-4});
  CHECK(p.previous_offset == hours{-5});
  CHECK(ny.offset_at(utc(2026, 3, 8, 6, 59)) == hours{-5});
}

TEST_CASE("berlin's 2026 fall-back period starts at 01:00 utc") {
  const auto berlin = zone("Europe/Berlin");
  const auto p = berlin.period_at(utc(2026, 10, 25, 1));
  CHECK(p.begin == utc(2026, 10, 25, 1));
  CHECK(p.offset == hours{1});
  CHECK(p.previous_offset == hours{2});
  CHECK(berlin.period_at(utc(2026, 10, 25, 0, 59)).begin == utc(2026, 3, 29, 1));
}

TEST_CASE("wall-clock times convert to instants and back") {
  const auto ny = zone("America/New_York");
  CHECK(ny.to_sys(local(2026, 7, 4, 12)) == utc(2026, 7, 4, 16));
  CHECK(ny.to_local(utc(2026, 7, 4, 16)) == local(2026, 7, 4, 12));
  CHECK(ny.to_sys(local(2026, 1, 15, 8, 30)) == utc(2026, 1, 15, 13, 30));
}

TEST_CASE("a repeated wall-clock time names its first occurrence") {
  CHECK(zone("America/New_York").to_sys(local(2026, 11, 1, 1, 30)) == utc(2026, 11, 1, 5, 30));
  CHECK(zone("Europe/Berlin").to_sys(local(2026, 10, 25, 2, 30)) == utc(2026, 10, 25, 0, 30));
}

TEST_CASE("a skipped wall-clock time is read with the offset before the gap") {
  // 02:30 EST would be 07:30Z, which is 03:30 EDT.
  CHECK(zone("America/New_York").to_sys(local(2026, 3, 8, 2, 30)) == utc(2026, 3, 8, 7, 30));
  CHECK(zone("Europe/Berlin").to_sys(local(2026, 3, 29, 2, 15)) == utc(2026, 3, 29, 1, 15));
}

TEST_CASE("fractional-hour offsets are exact") {
  CHECK(zone("Asia/Kolkata").offset_at(utc(2026, 1, 1)) == hours{5} + minutes{30});
  CHECK(zone("Asia/Kathmandu").offset_at(utc(2026, 1, 1)) == hours{5} + minutes{45});
  CHECK(zone("America/St_Johns").offset_at(utc(2026, 1, 1)) == -(hours{3} + minutes{30}));
}

TEST_CASE("daylight saving time goes on after 2037") {
  // The tzdata files list transitions up to 2037; later ones come from
  // each file's POSIX rule.
  const auto ny = zone("America/New_York");
  CHECK(ny.offset_at(utc(2040, 7, 1)) == hours{-4});
  CHECK(ny.offset_at(utc(2040, 12, 1)) == hours{-5});
  const auto p = ny.period_at(utc(2050, 6, 1));
  CHECK(p.begin == utc(2050, 3, 13, 7));
  CHECK(p.end == utc(2050, 11, 6, 6));
  CHECK(zone("Europe/Berlin").period_at(utc(2100, 7, 1)).begin == utc(2100, 3, 28, 1));
  CHECK(zone("Australia/Sydney").offset_at(utc(2045, 1, 1)) == hours{11});
}

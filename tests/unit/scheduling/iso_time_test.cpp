#include "scheduling/iso_time.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <string>
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

sys_seconds utc(int y, unsigned mo, unsigned d, int h = 0, int mi = 0, int s = 0) {
  return sys_days{year{y} / month{mo} / day{d}} + hours{h} + minutes{mi} + seconds{s};
}

sys_seconds parsed(std::string_view text, const time_zone& z = time_zone::utc()) {
  auto r = parse_iso8601(text, z);
  if (const auto* e = (r ? nullptr : &r.error())) FAIL_CHECK(e->message);
  REQUIRE(r.has_value());
  return r.value();
}

std::string refused(std::string_view text) {
  auto r = parse_iso8601(text, time_zone::utc());
  REQUIRE_MESSAGE(!r.has_value(), "accepted: ", text);
  return r.error().message;
}

}  // namespace

TEST_CASE("times are printed in the zone with its offset") {
  const auto ny = zone("America/New_York");
  CHECK(format_iso8601(utc(2026, 3, 8, 7), ny) == "2026-03-08T03:00:00-04:00");
  CHECK(format_iso8601(utc(2026, 3, 8, 6, 59, 59), ny) == "2026-03-08T01:59:59-05:00");
  CHECK(format_iso8601(utc(2026, 10, 25, 0, 30), zone("Europe/Berlin")) == "2026-10-25T02:30:00+02:00");
  CHECK(format_iso8601(utc(2026, 10, 25, 1, 30), zone("Europe/Berlin")) == "2026-10-25T02:30:00+01:00");
  CHECK(format_iso8601(utc(2026, 1, 1), time_zone::utc()) == "2026-01-01T00:00:00+00:00");
  CHECK(format_iso8601(utc(2026, 1, 1), zone("Asia/Kolkata")) == "2026-01-01T05:30:00+05:30");
  CHECK(format_iso8601(utc(2026, 1, 1), zone("America/St_Johns")) == "2025-12-31T20:30:00-03:30");
}

TEST_CASE("a historical offset with seconds prints them") {
  // New York kept local mean time (-4:56:02) until 1883.
  CHECK(format_iso8601(utc(1880, 1, 1, 12), zone("America/New_York")) == "1880-01-01T07:03:58-04:56:02");
}

TEST_CASE("a time written with a historical offset with seconds reads back") {
  // Found by fuzz_iso_time: format_iso8601() wrote -04:56:02, parse_iso8601() refused it.
  const auto ny = zone("America/New_York");
  CHECK(parsed("1880-01-01T07:03:58-04:56:02") == utc(1880, 1, 1, 12));
  CHECK(parsed(format_iso8601(utc(1122, 1, 18), ny), ny) == utc(1122, 1, 18));
  CHECK(refused("1880-01-01T07:03:58-04:56:60") ==
        "invalid time \"1880-01-01T07:03:58-04:56:60\": UTC offset -04:56:60 out of range (at most 23:59)");
}

TEST_CASE("a time with an offset or Z names one instant whatever the zone") {
  const auto ny = zone("America/New_York");
  CHECK(parsed("2026-03-08T01:59:00-05:00", ny) == utc(2026, 3, 8, 6, 59));
  CHECK(parsed("2026-03-08T06:59:00Z", ny) == utc(2026, 3, 8, 6, 59));
  CHECK(parsed("2026-03-08t06:59:00z") == utc(2026, 3, 8, 6, 59));
  CHECK(parsed("2026-03-08 12:00+0530") == utc(2026, 3, 8, 6, 30));
  CHECK(parsed("2026-03-08T12:00+05") == utc(2026, 3, 8, 7));
  CHECK(parsed("2026-03-08T06:59:00.999Z") == utc(2026, 3, 8, 6, 59));
  CHECK(parsed("2026-03-08T06:59:00,5+00:00") == utc(2026, 3, 8, 6, 59));
}

TEST_CASE("a time without an offset is wall-clock time in the zone") {
  const auto ny = zone("America/New_York");
  CHECK(parsed("2026-03-08T01:59:00", ny) == utc(2026, 3, 8, 6, 59));
  CHECK(parsed("2026-03-08T01:59", ny) == utc(2026, 3, 8, 6, 59));
  CHECK(parsed("2026-07-04T12:00", ny) == utc(2026, 7, 4, 16));
  CHECK(parsed("2026-03-08", ny) == utc(2026, 3, 8, 5));
  CHECK(parsed("2026-03-08T01:59:00", zone("Europe/Berlin")) == utc(2026, 3, 8, 0, 59));
}

TEST_CASE("repeated and skipped wall-clock times resolve like time_zone::to_sys") {
  const auto ny = zone("America/New_York");
  CHECK(parsed("2026-11-01T01:30", ny) == utc(2026, 11, 1, 5, 30));
  CHECK(parsed("2026-03-08T02:30", ny) == utc(2026, 3, 8, 7, 30));
}

TEST_CASE("formatting and parsing round-trip across DST changes") {
  for (const std::string name : {"America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "UTC"}) {
    const auto z = zone(name);
    for (sys_seconds t = utc(2026, 1, 1); t < utc(2027, 1, 1); t += minutes{37 * 60 + 13}) {
      CAPTURE(name);
      CHECK(parsed(format_iso8601(t, z), z) == t);
    }
  }
}

TEST_CASE("bad times are refused with one line") {
  CHECK(refused("2026-13-01T00:00") == "invalid time \"2026-13-01T00:00\": month 13 out of range 1-12");
  CHECK(refused("2026-02-30") == "invalid time \"2026-02-30\": day 30 out of range 1-28");
  CHECK(refused("2028-02-30") == "invalid time \"2028-02-30\": day 30 out of range 1-29");
  CHECK(refused("2026-03-00") == "invalid time \"2026-03-00\": day 0 out of range 1-31");
  CHECK(refused("2026-03-08T24:00") == "invalid time \"2026-03-08T24:00\": hour 24 out of range 0-23");
  CHECK(refused("2026-03-08T10:60") == "invalid time \"2026-03-08T10:60\": minute 60 out of range 0-59");
  CHECK(refused("2026-03-08T10:00:60Z") == "invalid time \"2026-03-08T10:00:60Z\": second 60 out of range 0-59");
  CHECK(refused("2026-03-08T10:00+24:00") ==
        "invalid time \"2026-03-08T10:00+24:00\": UTC offset +24:00 out of range (at most 23:59)");
  CHECK(refused("2026-03-08T10:00Zjunk") == "invalid time \"2026-03-08T10:00Zjunk\": unexpected \"junk\" at column 18");
  const std::string form = "expected YYYY-MM-DD[THH:MM[:SS]][Z|+HH:MM|-HH:MM]";
  CHECK(refused("yesterday") == "invalid time \"yesterday\": " + form);
  CHECK(refused("") == "invalid time \"\": " + form);
  CHECK(refused("2026-3-8") == "invalid time \"2026-3-8\": " + form);
  CHECK(refused("2026-03-08T10") == "invalid time \"2026-03-08T10\": " + form);
  CHECK(refused("2026-03-08T10:00:00.") == "invalid time \"2026-03-08T10:00:00.\": " + form);
}

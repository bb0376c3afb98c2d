#include "scheduling/detail/posix_tz_rule.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <utility>
#include <vector>

using namespace cascadence::scheduling::detail;
using namespace std::chrono;

namespace {

posix_tz_rule rule(std::string_view text) {
  const auto r = posix_tz_rule::parse(text);
  REQUIRE_MESSAGE(r.has_value(), "refused: ", std::string(text));
  return *r;
}

std::int64_t utc(int y, unsigned mo, unsigned d, int h = 0, int mi = 0) {
  return (sys_seconds{sys_days{year{y} / month{mo} / day{d}}} + hours{h} + minutes{mi}).time_since_epoch().count();
}

using transitions = std::vector<std::pair<std::int64_t, std::int32_t>>;

}  // namespace

TEST_CASE("a US rule starts DST on the second Sunday of March at 02:00 standard time") {
  const auto r = rule("EST5EDT,M3.2.0,M11.1.0");
  CHECK(r.standard_offset == -5 * 3600);
  CHECK(r.dst_offset == -4 * 3600);
  CHECK(r.transitions_in(2026) == transitions{{utc(2026, 3, 8, 7), -4 * 3600}, {utc(2026, 11, 1, 6), -5 * 3600}});
  CHECK(r.transitions_in(2040) == transitions{{utc(2040, 3, 11, 7), -4 * 3600}, {utc(2040, 11, 4, 6), -5 * 3600}});
}

TEST_CASE("an EU rule uses the last Sunday and explicit times") {
  const auto r = rule("CET-1CEST,M3.5.0,M10.5.0/3");
  CHECK(r.transitions_in(2026) == transitions{{utc(2026, 3, 29, 1), 7200}, {utc(2026, 10, 25, 1), 3600}});
}

TEST_CASE("a southern-hemisphere rule ends DST before it starts it") {
  const auto r = rule("AEST-10AEDT,M10.1.0,M4.1.0/3");
  CHECK(r.transitions_in(2045) == transitions{{utc(2045, 4, 1, 16), 36000}, {utc(2045, 9, 30, 16), 39600}});
}

TEST_CASE("quoted names, minutes in offsets and negative transition times are read") {
  const auto lord_howe = rule("<+1030>-10:30<+11>-11,M10.1.0,M4.1.0");
  CHECK(lord_howe.standard_offset == 37800);
  CHECK(lord_howe.dst_offset == 39600);
  // Greenland: DST starts at "-1:00" on the last Sunday of March, i.e. 23:00
  // standard time on the Saturday before, 01:00 UTC on the Sunday.
  const auto nuuk = rule("<-02>2<-01>,M3.5.0/-1,M10.5.0/0");
  CHECK(nuuk.transitions_in(2030).front() == std::pair<std::int64_t, std::int32_t>{utc(2030, 3, 31, 1), -3600});
}

TEST_CASE("julian day forms count February 29 or not") {
  // J60 is always March 1st; 59 (zero-based) is March 1st only in leap years.
  CHECK(rule("XXX0YYY,J60/0,J300/0").transitions_in(2028).front().first == utc(2028, 3, 1));
  CHECK(rule("XXX0YYY,59/0,J300/0").transitions_in(2028).front().first == utc(2028, 2, 29));
  CHECK(rule("XXX0YYY,59/0,J300/0").transitions_in(2027).front().first == utc(2027, 3, 1));
}

TEST_CASE("a rule without DST has no transitions") {
  const auto r = rule("<+0530>-5:30");
  CHECK_FALSE(r.has_dst);
  CHECK(r.standard_offset == 19800);
  CHECK(r.transitions_in(2050).empty());
}

TEST_CASE("malformed rules are refused") {
  for (const std::string text : {"", "E", "EST", "EST5EDT,M3.2.0", "EST5EDT,M13.2.0,M11.1.0", "EST5EDT,M3.6.0,M11.1.0",
                                 "EST5EDT,M3.2.7,M11.1.0", "EST5EDT,J0,J100", "EST5EDT,M3.2.0,M11.1.0x", "<AB>5"}) {
    CAPTURE(text);
    CHECK_FALSE(posix_tz_rule::parse(text).has_value());
  }
}

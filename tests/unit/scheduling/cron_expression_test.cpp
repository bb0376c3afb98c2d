#include "scheduling/cron_expression.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

using namespace cascadence::scheduling;
using namespace std::chrono;

namespace {

cron_expression parsed(std::string_view text) {
  auto r = cron_expression::parse(text);
  if (const auto* e = (r ? nullptr : &r.error())) FAIL_CHECK(e->message);
  REQUIRE(r.has_value());
  return std::move(r).value();
}

cron_error refused(std::string_view text) {
  auto r = cron_expression::parse(text);
  REQUIRE_MESSAGE(!r.has_value(), "accepted: ", text);
  return std::move(r).error();
}

local_seconds local(int y, unsigned mo, unsigned d, int h = 0, int mi = 0, int s = 0) {
  return local_days{year{y} / month{mo} / day{d}} + hours{h} + minutes{mi} + seconds{s};
}

// The next `count` wall-clock matches strictly after `from`.
std::vector<local_seconds> matches_after(const cron_expression& e, local_seconds from, int count) {
  std::vector<local_seconds> out;
  for (int i = 0; i < count; ++i) {
    const auto m = e.next_match(from + seconds{1}, 9999);
    if (!m) break;
    out.push_back(*m);
    from = *m;
  }
  return out;
}

}  // namespace

TEST_CASE("the original text is kept for printing") {
  CHECK(parsed("  */5 1-3 * * mon ").text() == "  */5 1-3 * * mon ");
  CHECK(parsed("@daily").text() == "@daily");
}

TEST_CASE("fields are separated by spaces and tabs") {
  CHECK(parsed("0\t12 * *  *").minute_bits() == parsed("0 12 * * *").minute_bits());
  CHECK(parsed(" 0 12 * * * ").hour_bits() == parsed("0 12 * * *").hour_bits());
}

TEST_CASE("lists, ranges and steps set the expected minutes") {
  const auto e = parsed("1,10-50/10,57 * * * *");
  for (int m = 0; m < 60; ++m) {
    const bool expected = m == 1 || m == 10 || m == 20 || m == 30 || m == 40 || m == 50 || m == 57;
    CHECK_MESSAGE(e.matches(local(2026, 1, 1, 0, m)) == expected, "minute ", m);
  }
}

TEST_CASE("a single value with a step runs to the end of the field") {
  const auto e = parsed("5/15 * * * *");
  CHECK(matches_after(e, local(2026, 1, 1), 5) == std::vector{local(2026, 1, 1, 0, 5), local(2026, 1, 1, 0, 20),
                                                              local(2026, 1, 1, 0, 35), local(2026, 1, 1, 0, 50),
                                                              local(2026, 1, 1, 1, 5)});
}

TEST_CASE("month and weekday names are case-insensitive and work in ranges") {
  const auto e = parsed("0 9 * JAN,mar Mon-FRI");
  CHECK(e.matches(local(2026, 1, 5, 9)));        // Monday
  CHECK(e.matches(local(2026, 3, 6, 9)));        // Friday
  CHECK_FALSE(e.matches(local(2026, 1, 3, 9)));  // Saturday
  CHECK_FALSE(e.matches(local(2026, 2, 2, 9)));  // February
}

TEST_CASE("sunday is both 0 and 7") {
  const auto zero = parsed("0 0 * * 0");
  const auto seven = parsed("0 0 * * 7");
  const auto name = parsed("0 0 * * sun");
  const auto range = parsed("0 0 * * 5-7");
  for (unsigned d = 1; d <= 14; ++d) {
    const auto t = local(2026, 1, d);
    const bool sunday = d == 4 || d == 11;
    CHECK(zero.matches(t) == sunday);
    CHECK(seven.matches(t) == sunday);
    CHECK(name.matches(t) == sunday);
    CHECK(range.matches(t) == (sunday || d == 2 || d == 3 || d == 9 || d == 10));
  }
}

TEST_CASE("when both day fields are restricted a day matching either fires") {
  const auto e = parsed("0 0 1,15 * sun");
  // April 2026: the 1st is a Wednesday; Sundays are the 5th, 12th, 19th, 26th.
  CHECK(matches_after(e, local(2026, 4, 1), 7) == std::vector{local(2026, 4, 5), local(2026, 4, 12), local(2026, 4, 15),
                                                              local(2026, 4, 19), local(2026, 4, 26), local(2026, 5, 1),
                                                              local(2026, 5, 3)});
}

TEST_CASE("a day field starting with a star makes both day fields required") {
  // cronie sets DOM_STAR for `*/2`, so odd days that are also Mondays.
  const auto e = parsed("0 0 */2 * mon");
  CHECK(matches_after(e, local(2026, 1, 1), 4) ==
        std::vector{local(2026, 1, 5), local(2026, 1, 19), local(2026, 2, 9), local(2026, 2, 23)});
  // A plain star in one day field: only the other one counts.
  CHECK(matches_after(parsed("0 0 13 * *"), local(2026, 1, 1), 2) ==
        std::vector{local(2026, 1, 13), local(2026, 2, 13)});
  CHECK(matches_after(parsed("0 0 * * fri"), local(2026, 1, 1), 2) ==
        std::vector{local(2026, 1, 2), local(2026, 1, 9)});
}

TEST_CASE("macros expand to their five-field meaning") {
  const auto from = local(2026, 6, 15, 10, 30);
  CHECK(parsed("@yearly").next_match(from, 9999) == local(2027, 1, 1));
  CHECK(parsed("@annually").next_match(from, 9999) == local(2027, 1, 1));
  CHECK(parsed("@monthly").next_match(from, 9999) == local(2026, 7, 1));
  CHECK(parsed("@weekly").next_match(from, 9999) == local(2026, 6, 21));  // Sunday
  CHECK(parsed("@daily").next_match(from, 9999) == local(2026, 6, 16));
  CHECK(parsed("@midnight").next_match(from, 9999) == local(2026, 6, 16));
  CHECK(parsed("@hourly").next_match(from, 9999) == local(2026, 6, 15, 11));
  CHECK(parsed("@DAILY").next_match(from, 9999) == local(2026, 6, 16));
}

TEST_CASE("a sixth field is a leading seconds field") {
  const auto e = parsed("*/5 * * * * *");
  CHECK(e.has_seconds());
  CHECK(matches_after(e, local(2026, 1, 1), 3) ==
        std::vector{local(2026, 1, 1, 0, 0, 5), local(2026, 1, 1, 0, 0, 10), local(2026, 1, 1, 0, 0, 15)});
  CHECK(parsed("30 0 9 * * *").next_match(local(2026, 1, 1), 9999) == local(2026, 1, 1, 9, 0, 30));
}

TEST_CASE("five-field expressions fire at second 0") {
  const auto e = parsed("* * * * *");
  CHECK_FALSE(e.has_seconds());
  CHECK(e.next_match(local(2026, 1, 1, 0, 0, 1), 9999) == local(2026, 1, 1, 0, 1));
  CHECK(e.next_match(local(2026, 1, 1, 0, 0, 0), 9999) == local(2026, 1, 1, 0, 0));
}

TEST_CASE("the search carries over hours, days, months and years") {
  CHECK(parsed("59 23 31 12 *").next_match(local(2026, 1, 1), 9999) == local(2026, 12, 31, 23, 59));
  CHECK(parsed("0 0 31 * *").next_match(local(2026, 1, 31, 0, 0, 1), 9999) == local(2026, 3, 31));
  CHECK(parsed("0 0 1 1 *").next_match(local(2026, 12, 31, 23, 59, 59), 9999) == local(2027, 1, 1));
}

TEST_CASE("february 29 is found in the next leap year") {
  CHECK(parsed("0 0 29 2 *").next_match(local(2026, 1, 1), 9999) == local(2028, 2, 29));
  CHECK(parsed("0 0 29 2 *").next_match(local(2096, 3, 1), 9999) == local(2104, 2, 29));
  // A leap day that must also be a Sunday: 2032, then 2060.
  CHECK(matches_after(parsed("0 0 29 2 */7"), local(2026, 1, 1), 2) ==
        std::vector{local(2032, 2, 29), local(2060, 2, 29)});
}

TEST_CASE("impossible dates are known at parse time and never match") {
  for (const auto* text : {"0 0 30 2 *", "0 0 31 4,6,9,11 *", "0 0 30,31 feb */2"}) {
    const auto e = parsed(text);
    CHECK_MESSAGE(!e.can_fire(), std::string(text));
    CHECK_FALSE(e.next_match(local(2026, 1, 1), 9999).has_value());
  }
  // With both day fields restricted, any matching weekday will do.
  CHECK(parsed("0 0 30 2 mon").can_fire());
}

TEST_CASE("the search stops at the last year it is given") {
  CHECK_FALSE(parsed("0 0 29 2 *").next_match(local(2026, 1, 1), 2027).has_value());
  CHECK(parsed("0 0 29 2 *").next_match(local(2026, 1, 1), 2028) == local(2028, 2, 29));
}

TEST_CASE("a schedule starting with a star in its minute or hour is a wildcard schedule") {
  CHECK(parsed("*/15 * * * *").has_wildcard_time());
  CHECK(parsed("30 * * * *").has_wildcard_time());
  CHECK(parsed("0 */2 * * *").has_wildcard_time());
  CHECK(parsed("@hourly").has_wildcard_time());
  CHECK(parsed("0 * 2 * * *").has_wildcard_time());
  CHECK_FALSE(parsed("30 2 * * *").has_wildcard_time());
  CHECK_FALSE(parsed("0-59 0-23 * * *").has_wildcard_time());
  CHECK_FALSE(parsed("@daily").has_wildcard_time());
  CHECK_FALSE(parsed("* 30 2 * * *").has_wildcard_time());
}

TEST_CASE("bad expressions are refused with one line naming the field") {
  struct bad final {
    const char* text;
    const char* message;
    const char* field;
    std::size_t position;
  };
  const bad cases[] = {
      {"61 * * * *", "minute 61 out of range 0-59", "minute", 0},
      {"* 24 * * *", "hour 24 out of range 0-23", "hour", 2},
      {"* * 0 * *", "day-of-month 0 out of range 1-31", "day-of-month", 4},
      {"* * 32 * *", "day-of-month 32 out of range 1-31", "day-of-month", 4},
      {"* * * 13 *", "month 13 out of range 1-12", "month", 6},
      {"* * * * 8", "day-of-week 8 out of range 0-7", "day-of-week", 8},
      {"60 * * * * *", "second 60 out of range 0-59", "second", 0},
      {"0-99999999999 * * * *", "minute 99999999999 out of range 0-59", "minute", 2},
      {"*/0 * * * *", "minute step 0 out of range 1-60", "minute", 2},
      {"* */25 * * *", "hour step 25 out of range 1-24", "hour", 4},
      {"5-1 * * * *", "minute range 5-1 is reversed", "minute", 0},
      {"* * * * fri-mon", "day-of-week range fri-mon is reversed", "day-of-week", 8},
      {"* * * foo *", "month name \"foo\" unknown (expected jan-dec or 1-12)", "month", 6},
      {"* * * january *", "month name \"january\" unknown (expected jan-dec or 1-12)", "month", 6},
      {"* * * * funday", "day-of-week name \"funday\" unknown (expected sun-sat or 0-7)", "day-of-week", 8},
      {"abc * * * *", "minute \"abc\" is not a number", "minute", 0},
      {"5x * * * *", "minute: unexpected 'x' at column 2", "minute", 1},
      {"*5 * * * *", "minute: unexpected '5' at column 2", "minute", 1},
      {"1-2-3 * * * *", "minute: unexpected '-' at column 4", "minute", 3},
      {"0 0 * * * /bin/true", "day-of-week: unexpected '/' at column 11", "day-of-week", 10},
      {"1,,2 * * * *", "minute: empty list element at column 3", "minute", 2},
      {"1, * * * *", "minute: empty list element at column 3", "minute", 2},
      {"1- * * * *", "minute: expected a number at column 3", "minute", 2},
      {"*/ * * * *", "minute: missing step after '/' at column 2", "minute", 1},
      {"* * *", "expected 5 fields (minute hour day-of-month month day-of-week) or 6 (second first), got 3", "", 5},
      {"* * * * * * *", "expected 5 fields (minute hour day-of-month month day-of-week) or 6 (second first), got 7", "",
       12},
      {"", "empty expression", "", 0},
      {"   ", "empty expression", "", 0},
      {"@reboot", "@reboot is not supported: it runs once at daemon start, not on a schedule", "", 0},
      {"@fortnightly",
       "unknown macro \"@fortnightly\" (expected @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly)",
       "", 0},
      {"@daily 0", "@daily takes no further fields", "", 7},
      {"*/5 * * *\n2099 *", "control character at column 10 (an expression is one line of fields)", "", 9},
      {"* * * *\r* *", "control character at column 8 (an expression is one line of fields)", "", 7},
      {"\x1b[31m* * * * *", "control character at column 1 (an expression is one line of fields)", "", 0},
      {"* * * * *\n", "control character at column 10 (an expression is one line of fields)", "", 9},
  };
  for (const auto& c : cases) {
    const std::string text = c.text;
    CAPTURE(text);
    const auto e = refused(c.text);
    CHECK(e.message == "invalid cron expression \"" + std::string(c.text) + "\": " + c.message);
    CHECK(e.field == c.field);
    CHECK(e.position == c.position);
  }
}

TEST_CASE("the field-by-field search agrees with a minute-by-minute scan") {
  const char* const texts[] = {"*/7 * * * *",   "0 */5 * * *",     "15 3 * * mon",       "0 0 1,15 * sun",
                               "0 0 */3 * fri", "30 12 28-31 * *", "0 0 * feb,mar wed",  "59 23 * * 6",
                               "0 0 29 2 *",    "@monthly",        "5-10/2 1-3 * * 1-5", "0 12 31 * *"};
  const local_seconds starts[] = {local(2026, 1, 1), local(2026, 2, 27, 23, 59), local(2027, 12, 31, 12, 30),
                                  local(2028, 2, 28, 22, 0)};
  for (const std::string text : texts) {
    CAPTURE(text);
    const auto e = parsed(text);
    for (const auto start : starts) {
      std::optional<local_seconds> scanned;
      for (auto t = start; t < start + days{366 * 5}; t += minutes{1}) {
        if (e.matches(t)) {
          scanned = t;
          break;
        }
      }
      CHECK(e.next_match(start, 9999) == scanned);
    }
  }
}

#include "scheduling/next_fire.hpp"

#include "scheduling/iso_time.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

using namespace cascadence::scheduling;
using namespace std::chrono;

namespace {

cron_expression expression(std::string_view text) {
  auto r = cron_expression::parse(text);
  if (const auto* e = (r ? nullptr : &r.error())) FAIL_CHECK(e->message);
  REQUIRE(r.has_value());
  return std::move(r).value();
}

time_zone zone(std::string_view name) {
  auto r = time_zone::locate(name);
  if (const auto* e = (r ? nullptr : &r.error())) FAIL_CHECK(e->message);
  REQUIRE(r.has_value());
  return r.value();
}

sys_seconds instant(std::string_view iso) {
  auto r = parse_iso8601(iso, time_zone::utc());
  if (const auto* e = (r ? nullptr : &r.error())) FAIL_CHECK(e->message);
  REQUIRE(r.has_value());
  return r.value();
}

// The next fire times, printed in the zone with their offsets.
std::vector<std::string> fires(std::string_view text, std::string_view zone_name, std::string_view from,
                               std::size_t count) {
  const auto z = zone(zone_name);
  std::vector<std::string> out;
  for (const auto t : next_fires(expression(text), z, instant(from), count)) out.push_back(format_iso8601(t, z));
  return out;
}

struct expectation final {
  std::string expression;
  std::string zone;
  std::string from;
  std::vector<std::string> next;
};

void check_all(const std::vector<expectation>& table) {
  for (const auto& row : table) {
    CAPTURE(row.expression);
    CAPTURE(row.zone);
    CAPTURE(row.from);
    CHECK(fires(row.expression, row.zone, row.from, row.next.size()) == row.next);
  }
}

}  // namespace

TEST_CASE("fire times in UTC follow the fields") {
  check_all({
      {"*/15 * * * *", "UTC", "2026-01-01T00:00:00Z", {"2026-01-01T00:15:00+00:00", "2026-01-01T00:30:00+00:00"}},
      {"10-50/10 * * * *",
       "UTC",
       "2026-01-01T00:00:00Z",
       {"2026-01-01T00:10:00+00:00", "2026-01-01T00:20:00+00:00", "2026-01-01T00:30:00+00:00",
        "2026-01-01T00:40:00+00:00", "2026-01-01T00:50:00+00:00", "2026-01-01T01:10:00+00:00"}},
      {"5/15 * * * *",
       "UTC",
       "2026-01-01T00:00:00Z",
       {"2026-01-01T00:05:00+00:00", "2026-01-01T00:20:00+00:00", "2026-01-01T00:35:00+00:00",
        "2026-01-01T00:50:00+00:00", "2026-01-01T01:05:00+00:00"}},
      {"23 0-20/2 * * *",
       "UTC",
       "2026-01-01T19:00:00Z",
       {"2026-01-01T20:23:00+00:00", "2026-01-02T00:23:00+00:00", "2026-01-02T02:23:00+00:00"}},
      // 2026-01-02 is a Friday.
      {"0 9 * * mon-fri", "UTC", "2026-01-02T10:00:00Z", {"2026-01-05T09:00:00+00:00", "2026-01-06T09:00:00+00:00"}},
      {"0 12 1 JAN,jul *", "UTC", "2026-02-01T00:00:00Z", {"2026-07-01T12:00:00+00:00", "2027-01-01T12:00:00+00:00"}},
      {"0 0 * * 7", "UTC", "2026-01-01T00:00:00Z", {"2026-01-04T00:00:00+00:00", "2026-01-11T00:00:00+00:00"}},
      // Day of month OR day of week; April 1st 2026 is a Wednesday.
      {"0 0 1,15 * sun",
       "UTC",
       "2026-04-01T00:00:00Z",
       {"2026-04-05T00:00:00+00:00", "2026-04-12T00:00:00+00:00", "2026-04-15T00:00:00+00:00",
        "2026-04-19T00:00:00+00:00", "2026-04-26T00:00:00+00:00", "2026-05-01T00:00:00+00:00"}},
      // Friday the 13th: both restricted, so every 13th and every Friday.
      {"0 0 13 * fri",
       "UTC",
       "2026-01-01T00:00:00Z",
       {"2026-01-02T00:00:00+00:00", "2026-01-09T00:00:00+00:00", "2026-01-13T00:00:00+00:00"}},
      {"0 0 29 2 *", "UTC", "2026-01-01T00:00:00Z", {"2028-02-29T00:00:00+00:00", "2032-02-29T00:00:00+00:00"}},
      {"@yearly", "UTC", "2026-06-15T08:00:00Z", {"2027-01-01T00:00:00+00:00", "2028-01-01T00:00:00+00:00"}},
      {"@monthly", "UTC", "2026-06-15T08:00:00Z", {"2026-07-01T00:00:00+00:00"}},
      {"@weekly", "UTC", "2026-06-15T08:00:00Z", {"2026-06-21T00:00:00+00:00"}},
      {"*/5 * * * * *",
       "UTC",
       "2026-01-01T00:00:00Z",
       {"2026-01-01T00:00:05+00:00", "2026-01-01T00:00:10+00:00", "2026-01-01T00:00:15+00:00"}},
      {"30 0 9 * * *", "UTC", "2026-01-01T09:00:30Z", {"2026-01-02T09:00:30+00:00"}},
  });
}

TEST_CASE("the next fire is strictly after the given instant") {
  const auto e = expression("0 12 * * *");
  const auto z = time_zone::utc();
  CHECK(next_fire(e, z, instant("2026-05-01T12:00:00Z")) == instant("2026-05-02T12:00:00Z"));
  CHECK(next_fire(e, z, instant("2026-05-01T11:59:59Z")) == instant("2026-05-01T12:00:00Z"));
  // A finer instant inside the matching second is already past it.
  const system_clock::time_point half_past = instant("2026-05-01T12:00:00Z") + milliseconds{500};
  CHECK(next_fire(e, z, half_past) == instant("2026-05-02T12:00:00Z"));
  const system_clock::time_point just_before = instant("2026-05-01T12:00:00Z") - milliseconds{1};
  CHECK(next_fire(e, z, just_before) == instant("2026-05-01T12:00:00Z"));
}

TEST_CASE("fixed-time jobs in the new york spring-forward gap fire once right after it") {
  // 2026-03-08 02:00 EST jumps to 03:00 EDT (07:00Z).
  check_all({
      {"30 2 * * *",
       "America/New_York",
       "2026-03-07T12:00:00-05:00",
       {"2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00"}},
      {"0 2 * * *", "America/New_York", "2026-03-08T01:59:59-05:00", {"2026-03-08T03:00:00-04:00"}},
      // Several skipped times still fire once; 03:00 itself is the same instant.
      {"0,30 2,3 * * *",
       "America/New_York",
       "2026-03-08T01:00:00-05:00",
       {"2026-03-08T03:00:00-04:00", "2026-03-08T03:30:00-04:00", "2026-03-09T02:00:00-04:00"}},
      {"0 3 * * *", "America/New_York", "2026-03-08T01:00:00-05:00", {"2026-03-08T03:00:00-04:00"}},
      // Seconds field: the whole skipped minute collapses to one fire.
      {"*/10 30 2 * * *",
       "America/New_York",
       "2026-03-08T01:00:00-05:00",
       {"2026-03-08T03:00:00-04:00", "2026-03-09T02:30:00-04:00"}},
  });
  CHECK(next_fire(expression("30 2 * * *"), zone("America/New_York"), instant("2026-03-08T00:00:00Z")) ==
        instant("2026-03-08T07:00:00Z"));
}

TEST_CASE("a fire right after the gap is not repeated") {
  check_all({
      {"30 2 * * *", "America/New_York", "2026-03-08T03:00:00-04:00", {"2026-03-09T02:30:00-04:00"}},
  });
}

TEST_CASE("wildcard jobs skip the new york spring-forward gap") {
  check_all({
      {"*/15 * * * *",
       "America/New_York",
       "2026-03-08T01:40:00-05:00",
       {"2026-03-08T01:45:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-08T03:15:00-04:00"}},
      {"30 * * * *",
       "America/New_York",
       "2026-03-08T01:00:00-05:00",
       {"2026-03-08T01:30:00-05:00", "2026-03-08T03:30:00-04:00"}},
      {"@hourly",
       "America/New_York",
       "2026-03-08T00:30:00-05:00",
       {"2026-03-08T01:00:00-05:00", "2026-03-08T03:00:00-04:00", "2026-03-08T04:00:00-04:00"}},
      // Minute wildcard with a fixed hour in the gap: that day has no 02:xx.
      {"*/30 2 * * *",
       "America/New_York",
       "2026-03-07T12:00:00-05:00",
       {"2026-03-09T02:00:00-04:00", "2026-03-09T02:30:00-04:00"}},
  });
}

TEST_CASE("fixed-time jobs in the new york fall-back fire at the first occurrence only") {
  // 2026-11-01 02:00 EDT falls back to 01:00 EST (06:00Z); 01:xx happens twice.
  check_all({
      {"30 1 * * *",
       "America/New_York",
       "2026-10-31T12:00:00-04:00",
       {"2026-11-01T01:30:00-04:00", "2026-11-02T01:30:00-05:00"}},
      {"30 1 * * *", "America/New_York", "2026-11-01T01:10:00-05:00", {"2026-11-02T01:30:00-05:00"}},
      {"30 1 * * *", "America/New_York", "2026-11-01T01:40:00-04:00", {"2026-11-02T01:30:00-05:00"}},
      {"0 1 * * *",
       "America/New_York",
       "2026-11-01T00:30:00-04:00",
       {"2026-11-01T01:00:00-04:00", "2026-11-02T01:00:00-05:00"}},
      {"0 2 * * *",
       "America/New_York",
       "2026-11-01T00:00:00-04:00",
       {"2026-11-01T02:00:00-05:00", "2026-11-02T02:00:00-05:00"}},
      {"@daily",
       "America/New_York",
       "2026-10-31T12:00:00-04:00",
       {"2026-11-01T00:00:00-04:00", "2026-11-02T00:00:00-05:00"}},
  });
}

TEST_CASE("wildcard jobs fire in both copies of the new york fall-back hour") {
  check_all({
      {"*/15 * * * *",
       "America/New_York",
       "2026-11-01T01:40:00-04:00",
       {"2026-11-01T01:45:00-04:00", "2026-11-01T01:00:00-05:00", "2026-11-01T01:15:00-05:00",
        "2026-11-01T01:30:00-05:00", "2026-11-01T01:45:00-05:00", "2026-11-01T02:00:00-05:00"}},
      {"30 * * * *",
       "America/New_York",
       "2026-11-01T00:40:00-04:00",
       {"2026-11-01T01:30:00-04:00", "2026-11-01T01:30:00-05:00", "2026-11-01T02:30:00-05:00"}},
      {"*/20 1 * * *",
       "America/New_York",
       "2026-11-01T01:30:00-04:00",
       {"2026-11-01T01:40:00-04:00", "2026-11-01T01:00:00-05:00", "2026-11-01T01:20:00-05:00",
        "2026-11-01T01:40:00-05:00", "2026-11-02T01:00:00-05:00"}},
  });
}

TEST_CASE("berlin's 2026 transitions follow the same rules") {
  // 2026-03-29 02:00 CET jumps to 03:00 CEST (01:00Z);
  // 2026-10-25 03:00 CEST falls back to 02:00 CET (01:00Z).
  check_all({
      {"30 2 * * *",
       "Europe/Berlin",
       "2026-03-28T12:00:00+01:00",
       {"2026-03-29T03:00:00+02:00", "2026-03-30T02:30:00+02:00"}},
      {"15 2 * * sun", "Europe/Berlin", "2026-03-22T12:00:00+01:00", {"2026-03-29T03:00:00+02:00"}},
      {"0 * * * *",
       "Europe/Berlin",
       "2026-03-29T01:30:00+01:00",
       {"2026-03-29T03:00:00+02:00", "2026-03-29T04:00:00+02:00"}},
      {"30 2 * * *",
       "Europe/Berlin",
       "2026-10-24T12:00:00+02:00",
       {"2026-10-25T02:30:00+02:00", "2026-10-26T02:30:00+01:00"}},
      {"*/30 * * * *",
       "Europe/Berlin",
       "2026-10-25T02:10:00+02:00",
       {"2026-10-25T02:30:00+02:00", "2026-10-25T02:00:00+01:00", "2026-10-25T02:30:00+01:00",
        "2026-10-25T03:00:00+01:00"}},
      {"0 9 * * *",
       "Europe/Berlin",
       "2026-03-28T12:00:00+01:00",
       {"2026-03-29T09:00:00+02:00", "2026-03-30T09:00:00+02:00"}},
  });
}

TEST_CASE("half-hour DST shifts are handled like whole hours") {
  // Lord Howe Island: 2026-10-04 02:00 (+10:30) jumps to 02:30 (+11:00);
  // 2026-04-05 02:00 (+11:00) falls back to 01:30 (+10:30).
  check_all({
      {"15 2 * * *",
       "Australia/Lord_Howe",
       "2026-10-03T12:00:00+10:30",
       {"2026-10-04T02:30:00+11:00", "2026-10-05T02:15:00+11:00"}},
      {"45 1 * * *",
       "Australia/Lord_Howe",
       "2026-04-04T12:00:00+11:00",
       {"2026-04-05T01:45:00+11:00", "2026-04-06T01:45:00+10:30"}},
      {"*/20 * * * *",
       "Australia/Lord_Howe",
       "2026-04-05T01:30:00+11:00",
       {"2026-04-05T01:40:00+11:00", "2026-04-05T01:40:00+10:30", "2026-04-05T02:00:00+10:30"}},
  });
}

TEST_CASE("a schedule that can never fire returns nothing at once") {
  const auto ny = zone("America/New_York");
  for (const std::string text : {"0 0 30 2 *", "0 0 31 4,6,9,11 *", "0 0 31 2 */2"}) {
    CAPTURE(text);
    CHECK_FALSE(next_fire(expression(text), ny, instant("2026-01-01T00:00:00Z")).has_value());
  }
  CHECK(next_fires(expression("0 0 30 2 *"), ny, instant("2026-01-01T00:00:00Z"), 5).empty());
}

TEST_CASE("rare schedules are found many years ahead") {
  // February 29th that is also a Sunday: 2032, then 2060.
  check_all({
      {"0 0 29 2 */7", "UTC", "2026-01-01T00:00:00Z", {"2032-02-29T00:00:00+00:00", "2060-02-29T00:00:00+00:00"}},
  });
}

TEST_CASE("nothing fires after the year 9999") {
  CHECK_FALSE(next_fire(expression("0 0 29 2 *"), time_zone::utc(), instant("9997-01-01T00:00:00Z")).has_value());
  CHECK(next_fire(expression("59 23 31 12 *"), time_zone::utc(), instant("9999-01-01T00:00:00Z")) ==
        instant("9999-12-31T23:59:00Z"));
  CHECK_FALSE(next_fire(expression("* * * * *"), time_zone::utc(), sys_seconds::max()).has_value());
}

TEST_CASE("next_fires stops at the count") {
  const auto all = next_fires(expression("@hourly"), time_zone::utc(), instant("2026-01-01T00:00:00Z"), 48);
  REQUIRE(all.size() == 48);
  CHECK(all.back() == instant("2026-01-03T00:00:00Z"));
  CHECK(next_fires(expression("@hourly"), time_zone::utc(), instant("2026-01-01T00:00:00Z"), 0).empty());
}

namespace {

// An independent model of cronie's main loop (cron.c), stepping real
// minutes: the local clock minute is compared with the "virtual" minute
// cron last processed. One minute on: run everything. Two to five on: run
// everything for each minute missed. Six to 180 on (spring-forward): run
// wildcard jobs for now, and fixed-time jobs for every skipped minute, all
// at this instant. Up to 180 back (fall-back): run only wildcard jobs
// until the clock catches up. Further either way: start afresh from now.
// (next_fire treats gaps of any size like the six-to-180 case; real
// zones only differ on rare historical dates such as Samoa's lost day.)
std::vector<sys_seconds> cronie_model(const cron_expression& e, const time_zone& z, sys_seconds from,
                                      sys_seconds until) {
  std::vector<sys_seconds> fired;
  const auto run = [&](local_seconds minute, sys_seconds now, bool wild, bool fixed) {
    const bool wildcard = e.has_wildcard_time();
    if (((wildcard && wild) || (!wildcard && fixed)) && e.matches(minute) && (fired.empty() || fired.back() != now)) {
      fired.push_back(now);
    }
  };
  local_seconds virtual_time = floor<minutes>(z.to_local(from));
  for (sys_seconds now = floor<minutes>(from) + minutes{1}; now <= until; now += minutes{1}) {
    const local_seconds running = z.to_local(now);
    const auto diff = duration_cast<minutes>(running - virtual_time).count();
    if (diff == 1) {
      run(running, now, true, true);
      virtual_time = running;
    } else if (diff > 5 && diff <= 180) {
      run(running, now, true, false);
      for (auto v = virtual_time + minutes{1}; v <= running; v += minutes{1}) run(v, now, false, true);
      virtual_time = running;
    } else if (diff > 1 && diff <= 5) {
      for (auto v = virtual_time + minutes{1}; v <= running; v += minutes{1}) run(v, now, true, true);
      virtual_time = running;
    } else if (diff <= 0 && diff >= -180) {
      run(running, now, true, false);
    } else {
      run(running, now, true, true);
      virtual_time = running;
    }
  }
  return fired;
}

}  // namespace

TEST_CASE("fire times across the 2026 transitions agree with a model of cronie's clock loop") {
  struct window final {
    std::string zone;
    std::string from;
    std::string until;
  };
  const window windows[] = {
      {"America/New_York", "2026-03-07T00:00:00Z", "2026-03-10T00:00:00Z"},
      {"America/New_York", "2026-10-31T00:00:00Z", "2026-11-03T00:00:00Z"},
      {"Europe/Berlin", "2026-03-28T00:00:00Z", "2026-03-31T00:00:00Z"},
      {"Europe/Berlin", "2026-10-24T00:00:00Z", "2026-10-27T00:00:00Z"},
      {"Australia/Lord_Howe", "2026-04-04T00:00:00Z", "2026-04-07T00:00:00Z"},
      {"Australia/Lord_Howe", "2026-10-03T00:00:00Z", "2026-10-06T00:00:00Z"},
  };
  const char* const texts[] = {"30 2 * * *", "0 2 * * *",    "0 3 * * *",      "30 1 * * *",     "0,30 1-3 * * *",
                               "15 2 * * 0", "*/15 * * * *", "30 * * * *",     "*/20 1,2 * * *", "@hourly",
                               "@daily",     "0 0-6 * * *",  "45 0-4/2 * * *", "* 2 * * *",      "1-59/2 3 * * *"};
  for (const auto& w : windows) {
    const auto z = zone(w.zone);
    const auto from = instant(w.from);
    const auto until = instant(w.until);
    for (const std::string text : texts) {
      CAPTURE(w.zone);
      CAPTURE(w.from);
      CAPTURE(text);
      const auto e = expression(text);
      std::vector<sys_seconds> ours;
      for (auto t = next_fire(e, z, from); t && *t <= until; t = next_fire(e, z, *t)) ours.push_back(*t);
      CHECK(ours == cronie_model(e, z, from, until));
    }
  }
}

TEST_CASE("DST rules keep applying to fire times after 2037") {
  check_all({
      {"0 12 1 7 *",
       "America/New_York",
       "2036-01-01T00:00:00Z",
       {"2036-07-01T12:00:00-04:00", "2037-07-01T12:00:00-04:00", "2038-07-01T12:00:00-04:00",
        "2039-07-01T12:00:00-04:00"}},
      // US 2040: DST starts 2040-03-11.
      {"30 2 * * *",
       "America/New_York",
       "2040-03-10T12:00:00-05:00",
       {"2040-03-11T03:00:00-04:00", "2040-03-12T02:30:00-04:00"}},
  });
}

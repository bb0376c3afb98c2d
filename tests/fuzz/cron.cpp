// The cron expression parser and next_fire(). Input: the expression, then
// optionally a line with a time zone name and a line with the instant to
// search from (ISO 8601); without them the search runs in a few zones with
// DST from fixed instants. Checks what next_fire() promises: every fire is
// strictly after the one before, and an expression that cannot fire never
// does.

#include "fuzz_input.hpp"
#include "scheduling/cron_expression.hpp"
#include "scheduling/iso_time.hpp"
#include "scheduling/next_fire.hpp"
#include "scheduling/time_zone.hpp"

#include <array>
#include <chrono>
#include <string>

namespace {

using namespace cascadence;
using std::chrono::sys_seconds;

constexpr std::array<std::string_view, 4> zone_names{"UTC", "America/New_York", "Australia/Lord_Howe",
                                                     "Pacific/Chatham"};

// Spring-forward and fall-back weeks, the epoch, and the far end of the
// search range.
constexpr std::array<std::int64_t, 5> starts{1772928000, 1793404800, 0, 253370764800, -2208988800};

void check_fires(const scheduling::cron_expression& expr, const scheduling::time_zone& zone, sys_seconds after) {
  const auto fires = scheduling::next_fires(expr, zone, after, 6);
  if (!expr.can_fire() && !fires.empty()) fuzz::fail("an expression that cannot fire fired", expr.text());
  auto previous = after;
  for (const auto t : fires) {
    if (t <= previous) fuzz::fail("a fire not after the one before", expr.text() + " in " + zone.name());
    previous = t;
  }
  (void)expr.next_match(zone.to_local(after), 2100);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto parts = fuzz::split(fuzz::text_of(data, size), "\n");
  const auto parsed = scheduling::cron_expression::parse(parts[0]);
  if (!parsed) {
    if (parsed.error().position > parts[0].size())
      fuzz::fail("an error position past the text", parsed.error().message);
    return 0;
  }
  const auto& expr = parsed.value();
  if (expr.text() != parts[0]) fuzz::fail("the expression's text changed", expr.text());

  if (parts.size() >= 2) {
    const auto zone = scheduling::time_zone::locate(parts[1]);
    if (!zone) return 0;
    if (parts.size() >= 3) {
      const auto from = scheduling::parse_iso8601(parts[2], zone.value());
      if (from) check_fires(expr, zone.value(), from.value());
      return 0;
    }
    for (const auto s : starts) check_fires(expr, zone.value(), sys_seconds(std::chrono::seconds(s)));
    return 0;
  }
  static const auto zones = [] {
    std::vector<scheduling::time_zone> z;
    for (const auto name : zone_names) z.push_back(scheduling::time_zone::locate(name).value());
    return z;
  }();
  for (const auto& zone : zones) {
    for (const auto s : starts) check_fires(expr, zone, sys_seconds(std::chrono::seconds(s)));
  }
  return 0;
}

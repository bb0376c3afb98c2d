// The ISO 8601 time parser and the duration parsers. Input: one text, read
// as a time (in UTC and in a zone with DST), as a duration and as the
// seed's seconds-or-duration. Checks the round trips the writers promise:
// format_iso8601() of a parsed instant reads back as the same instant, and
// format_duration() of a parsed duration as the same duration.

#include "scheduling/iso_time.hpp"
#include "engine/duration.hpp"
#include "fuzz_input.hpp"
#include "scheduling/time_zone.hpp"

namespace {

using namespace cascadence;

void check_time(std::string_view text, const scheduling::time_zone& zone) {
  const auto t = scheduling::parse_iso8601(text, zone);
  if (!t) return;
  const auto written = scheduling::format_iso8601(t.value(), zone);
  const auto again = scheduling::parse_iso8601(written, zone);
  if (!again || again.value() != t.value()) fuzz::fail("a written time does not read back", written);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = fuzz::text_of(data, size);
  static const auto new_york = scheduling::time_zone::locate("America/New_York").value();
  check_time(text, scheduling::time_zone::utc());
  check_time(text, new_york);

  if (const auto d = engine::parse_duration(text)) {
    if (d->count() < 0) fuzz::fail("a negative duration");
    const auto again = engine::parse_duration(engine::format_duration(*d));
    if (!again || *again != *d) fuzz::fail("a written duration does not read back", engine::format_duration(*d));
  }
  if (const auto d = engine::parse_seconds_or_duration(text); d && d->count() <= 0)
    fuzz::fail("an interval that is not positive");
  return 0;
}

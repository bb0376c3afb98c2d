#include "core/time_text.hpp"

#include <cstdio>
#include <ctime>

namespace cascadence::core {

std::string format_utc(std::chrono::system_clock::time_point t) {
  // floor, not duration_cast: an instant before the epoch belongs to the
  // second that starts before it.
  const auto ms = std::chrono::floor<std::chrono::milliseconds>(t);
  const auto secs = std::chrono::floor<std::chrono::seconds>(ms);
  const auto frac = static_cast<int>((ms - secs).count());
  const std::time_t tt = std::chrono::system_clock::to_time_t(secs);
  std::tm tm{};
  ::gmtime_r(&tt, &tm);
  char buf[64];
  (void)std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                      tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
  return buf;
}

std::string format_seconds(std::chrono::nanoseconds d) {
  char buf[32];
  (void)std::snprintf(buf, sizeof buf, "%.3fs", std::chrono::duration<double>(d).count());
  return buf;
}

}  // namespace cascadence::core

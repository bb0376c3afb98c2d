#include "core/time_text.hpp"

#include <cstdio>
#include <ctime>

namespace cascadence::core {

namespace {

// Any year, with gmtime_r and snprintf.
std::string stdio_utc(std::chrono::system_clock::time_point t) {
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

}  // namespace

void append_utc(std::string& out, std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  // floor, not duration_cast: an instant before the epoch belongs to the
  // millisecond (and day) that starts before it.
  const auto ms = floor<milliseconds>(t);
  const auto day = floor<days>(ms);
  const year_month_day date{day};
  const int y = static_cast<int>(date.year());
  if (y < 0 || y > 9999) {  // not four digits: the general formatter
    out += stdio_utc(t);
    return;
  }
  // Digits by hand rather than snprintf: run events write two of these per
  // settled task, and stdio's formatting cost more than the run itself.
  const hh_mm_ss time{ms - day};
  char buf[] = "0000-00-00T00:00:00.000Z";
  const auto put = [&buf](int at, unsigned value, int digits) {
    for (int k = digits - 1; k >= 0; --k, value /= 10) buf[at + k] = static_cast<char>('0' + value % 10);
  };
  put(0, static_cast<unsigned>(y), 4);
  put(5, static_cast<unsigned>(date.month()), 2);
  put(8, static_cast<unsigned>(date.day()), 2);
  put(11, static_cast<unsigned>(time.hours().count()), 2);
  put(14, static_cast<unsigned>(time.minutes().count()), 2);
  put(17, static_cast<unsigned>(time.seconds().count()), 2);
  put(20, static_cast<unsigned>(time.subseconds().count()), 3);
  out.append(buf, sizeof buf - 1);
}

std::string format_utc(std::chrono::system_clock::time_point t) {
  std::string out;
  append_utc(out, t);
  return out;
}

std::string format_seconds(std::chrono::nanoseconds d) {
  char buf[32];
  (void)std::snprintf(buf, sizeof buf, "%.3fs", std::chrono::duration<double>(d).count());
  return buf;
}

}  // namespace cascadence::core

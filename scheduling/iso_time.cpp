#include "scheduling/iso_time.hpp"

#include <cstdio>
#include <cstdlib>
#include <optional>

namespace cascadence::scheduling {

namespace {

using std::chrono::local_seconds;
using std::chrono::seconds;
using std::chrono::sys_seconds;

constexpr std::string_view expected_form = "expected YYYY-MM-DD[THH:MM[:SS]][Z|+HH:MM|-HH:MM]";

bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}

/// Reads the text left to right; every failure becomes one message.
class iso_reader final {
 public:
  explicit iso_reader(std::string_view text) : text_(text) {}

  [[nodiscard]] bool at_end() const noexcept { return i_ == text_.size(); }
  [[nodiscard]] char peek() const noexcept { return at_end() ? '\0' : text_[i_]; }
  [[nodiscard]] std::size_t position() const noexcept { return i_; }
  void skip() noexcept { ++i_; }

  /// Exactly `width` digits.
  [[nodiscard]] std::optional<int> digits(std::size_t width) {
    if (text_.size() - i_ < width) return std::nullopt;
    int v = 0;
    for (std::size_t k = 0; k < width; ++k) {
      if (!is_digit(text_[i_ + k])) return std::nullopt;
      v = v * 10 + (text_[i_ + k] - '0');
    }
    i_ += width;
    return v;
  }

  [[nodiscard]] bool accept(char c) noexcept {
    if (peek() != c) return false;
    ++i_;
    return true;
  }

 private:
  std::string_view text_;
  std::size_t i_ = 0;
};

std::string two_digits(long v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%02ld", v);
  return buf;
}

}  // namespace

std::string format_iso8601(sys_seconds t, const time_zone& zone) {
  const seconds offset = zone.offset_at(t);
  const local_seconds local{t.time_since_epoch() + offset};
  const auto day = std::chrono::floor<std::chrono::days>(local);
  const std::chrono::year_month_day ymd{day};
  const long time = static_cast<long>((local - day).count());
  const long off = static_cast<long>(offset.count());
  const long magnitude = off < 0 ? -off : off;
  const int year = static_cast<int>(ymd.year());

  // Written by hand: run ids of cron fires are derived from this text, once
  // per fire, and snprintf cost more than the rest of the id.
  char buf[40];
  char* p = buf;
  const auto put2 = [&p](long v) {
    *p++ = static_cast<char>('0' + v / 10);
    *p++ = static_cast<char>('0' + v % 10);
  };
  if (year >= 0 && year <= 9999) {
    put2(year / 100);
    put2(year % 100);
  } else {
    p += std::snprintf(p, 12, "%04d", year);
  }
  *p++ = '-';
  put2(static_cast<long>(static_cast<unsigned>(ymd.month())));
  *p++ = '-';
  put2(static_cast<long>(static_cast<unsigned>(ymd.day())));
  *p++ = 'T';
  put2(time / 3600);
  *p++ = ':';
  put2(time / 60 % 60);
  *p++ = ':';
  put2(time % 60);
  *p++ = off < 0 ? '-' : '+';
  put2(magnitude / 3600);
  *p++ = ':';
  put2(magnitude / 60 % 60);
  if (magnitude % 60 != 0) {
    *p++ = ':';
    put2(magnitude % 60);
  }
  return {buf, static_cast<std::size_t>(p - buf)};
}

core::result<sys_seconds, iso_time_error> parse_iso8601(std::string_view text, const time_zone& zone) {
  const auto fail = [text](std::string what) {
    return iso_time_error{"invalid time \"" + std::string(text) + "\": " + std::move(what)};
  };
  const auto out_of_range = [&fail](std::string_view what, int value, int low, int high) {
    return fail(std::string(what) + " " + std::to_string(value) + " out of range " + std::to_string(low) + "-" +
                std::to_string(high));
  };
  iso_reader in(text);

  const auto year = in.digits(4);
  if (!year || !in.accept('-')) return fail(std::string(expected_form));
  const auto month = in.digits(2);
  if (!month || !in.accept('-')) return fail(std::string(expected_form));
  const auto day = in.digits(2);
  if (!day) return fail(std::string(expected_form));
  if (*month < 1 || *month > 12) return out_of_range("month", *month, 1, 12);
  const std::chrono::year_month_day ymd{std::chrono::year{*year}, std::chrono::month{static_cast<unsigned>(*month)},
                                        std::chrono::day{static_cast<unsigned>(*day)}};
  if (*day < 1 || !ymd.ok()) {
    const auto last = static_cast<unsigned>(
        std::chrono::year_month_day_last{ymd.year(), std::chrono::month_day_last{ymd.month()}}.day());
    return out_of_range("day", *day, 1, static_cast<int>(last));
  }

  int hour = 0;
  int minute = 0;
  int second = 0;
  std::optional<seconds> offset;
  if (!in.at_end()) {
    if (!in.accept('T') && !in.accept('t') && !in.accept(' ')) return fail(std::string(expected_form));
    const auto h = in.digits(2);
    if (!h || !in.accept(':')) return fail(std::string(expected_form));
    const auto m = in.digits(2);
    if (!m) return fail(std::string(expected_form));
    hour = *h;
    minute = *m;
    if (in.accept(':')) {
      const auto s = in.digits(2);
      if (!s) return fail(std::string(expected_form));
      second = *s;
      if (in.accept('.') || in.accept(',')) {
        if (!is_digit(in.peek())) return fail(std::string(expected_form));
        while (is_digit(in.peek())) in.skip();
      }
    }
    if (hour > 23) return out_of_range("hour", hour, 0, 23);
    if (minute > 59) return out_of_range("minute", minute, 0, 59);
    if (second > 59) return out_of_range("second", second, 0, 59);

    if (in.accept('Z') || in.accept('z')) {
      offset = seconds{0};
    } else if (in.peek() == '+' || in.peek() == '-') {
      const bool negative = in.peek() == '-';
      in.skip();
      const auto oh = in.digits(2);
      if (!oh) return fail(std::string(expected_form));
      int om = 0;
      int os = 0;
      if (in.accept(':')) {
        const auto v = in.digits(2);
        if (!v) return fail(std::string(expected_form));
        om = *v;
        // Seconds, as format_iso8601() writes a historical offset (-04:56:02).
        if (in.accept(':')) {
          const auto s = in.digits(2);
          if (!s) return fail(std::string(expected_form));
          os = *s;
        }
      } else if (is_digit(in.peek())) {
        const auto v = in.digits(2);
        if (!v) return fail(std::string(expected_form));
        om = *v;
      }
      if (*oh > 23 || om > 59 || os > 59) {
        return fail("UTC offset " + std::string(negative ? "-" : "+") + two_digits(*oh) + ":" + two_digits(om) +
                    (os != 0 ? ":" + two_digits(os) : std::string()) + " out of range (at most 23:59)");
      }
      offset = seconds{(negative ? -1 : 1) * (*oh * 3600 + om * 60 + os)};
    }
  }
  if (!in.at_end()) {
    return fail("unexpected \"" + std::string(text.substr(in.position())) + "\" at column " +
                std::to_string(in.position() + 1));
  }

  const local_seconds local = local_seconds{std::chrono::local_days{ymd}} + seconds{hour * 3600 + minute * 60 + second};
  if (offset) return sys_seconds{local.time_since_epoch() - *offset};
  return zone.to_sys(local);
}

}  // namespace cascadence::scheduling

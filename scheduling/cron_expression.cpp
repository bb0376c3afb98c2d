#include "scheduling/cron_expression.hpp"

#include <algorithm>
#include <bit>
#include <cctype>
#include <span>
#include <vector>

namespace cascadence::scheduling {

namespace {

using std::chrono::local_days;
using std::chrono::local_seconds;

struct field_spec final {
  std::string_view name;
  int low;
  int high;
  std::span<const std::string_view> names;  ///< names[i] stands for low + i
  std::string_view name_hint;               ///< e.g. "jan-dec or 1-12"
};

constexpr std::array<std::string_view, 12> month_names{"jan", "feb", "mar", "apr", "may", "jun",
                                                       "jul", "aug", "sep", "oct", "nov", "dec"};
constexpr std::array<std::string_view, 8> weekday_names{"sun", "mon", "tue", "wed", "thu", "fri", "sat", "sun"};

constexpr field_spec second_field{"second", 0, 59, {}, {}};
constexpr field_spec minute_field{"minute", 0, 59, {}, {}};
constexpr field_spec hour_field{"hour", 0, 23, {}, {}};
constexpr field_spec day_of_month_field{"day-of-month", 1, 31, {}, {}};
constexpr field_spec month_field{"month", 1, 12, month_names, "jan-dec or 1-12"};
constexpr field_spec day_of_week_field{"day-of-week", 0, 7, weekday_names, "sun-sat or 0-7"};

struct macro final {
  std::string_view name;
  std::string_view fields;
};

constexpr std::array<macro, 7> macros{{
    {"@yearly", "0 0 1 1 *"},
    {"@annually", "0 0 1 1 *"},
    {"@monthly", "0 0 1 * *"},
    {"@weekly", "0 0 * * 0"},
    {"@daily", "0 0 * * *"},
    {"@midnight", "0 0 * * *"},
    {"@hourly", "0 * * * *"},
}};

/// Fields are separated by spaces and tabs, as in a crontab line; any other
/// control character is refused (an expression is one line).
bool is_space(char c) noexcept {
  return c == ' ' || c == '\t';
}
bool is_control(char c) noexcept {
  return (static_cast<unsigned char>(c) < 0x20 && c != '\t') || c == 0x7F;
}
bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}
bool is_alpha(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool iequals(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) return false;
  }
  return true;
}

/// Lowest set bit of `mask` at index `from` or above; 64 when there is none.
int next_bit(std::uint64_t mask, int from) noexcept {
  if (from >= 64) return 64;
  return std::countr_zero(mask & (~std::uint64_t{0} << from));
}

bool is_leap(int year) noexcept {
  return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

unsigned days_in_month(int year, unsigned month) noexcept {
  constexpr std::array<unsigned char, 13> lengths{0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return month == 2 && is_leap(year) ? 29u : lengths[month];
}

/// Bits 1..n set.
std::uint32_t first_days(unsigned n) noexcept {
  return static_cast<std::uint32_t>(((std::uint64_t{1} << n) - 1) << 1);
}

struct token final {
  std::string_view text;
  std::size_t position;  ///< offset in the whole expression
};

}  // namespace

/// Turns text into a cron_expression; one instance per parse.
class cron_expression_parser final {
 public:
  explicit cron_expression_parser(std::string_view text) : text_(text) {}

  core::result<cron_expression, cron_error> run() {
    for (std::size_t i = 0; i < text_.size(); ++i) {
      if (is_control(text_[i])) {
        return error({}, i,
                     "control character at column " + std::to_string(i + 1) + " (an expression is one line of fields)");
      }
    }
    std::vector<token> tokens;
    for (std::size_t i = 0; i < text_.size();) {
      if (is_space(text_[i])) {
        ++i;
        continue;
      }
      const std::size_t start = i;
      while (i < text_.size() && !is_space(text_[i])) ++i;
      tokens.push_back({text_.substr(start, i - start), start});
    }
    if (tokens.empty()) return error({}, 0, "empty expression");

    std::string_view expanded;  // the five fields a macro stands for
    if (tokens[0].text.front() == '@') {
      const token name = tokens[0];
      if (iequals(name.text, "@reboot")) {
        return error({}, name.position, "@reboot is not supported: it runs once at daemon start, not on a schedule");
      }
      for (const auto& m : macros) {
        if (iequals(name.text, m.name)) expanded = m.fields;
      }
      if (expanded.empty()) {
        return error({}, name.position,
                     "unknown macro \"" + std::string(name.text) +
                         "\" (expected @yearly, @annually, @monthly, @weekly, @daily, @midnight or @hourly)");
      }
      if (tokens.size() > 1) {
        return error({}, tokens[1].position, std::string(name.text) + " takes no further fields");
      }
      tokens.clear();
      for (std::size_t i = 0; i < expanded.size(); i += 2) tokens.push_back({expanded.substr(i, 1), 0});
    }
    if (tokens.size() != 5 && tokens.size() != 6) {
      return error({}, tokens.size() > 6 ? tokens[6].position : text_.size(),
                   "expected 5 fields (minute hour day-of-month month day-of-week) or 6 (second first), got " +
                       std::to_string(tokens.size()));
    }

    cron_expression e;
    e.text_ = std::string(text_);
    e.has_seconds_ = tokens.size() == 6;
    const std::span<const token> fields = std::span<const token>(tokens).last(5);
    std::uint64_t bits = 1;  // five-field schedules fire at second 0
    if (e.has_seconds_ && !parse_field(second_field, tokens[0], bits)) return std::move(*error_);
    e.seconds_ = bits;
    if (!parse_field(minute_field, fields[0], bits)) return std::move(*error_);
    e.minutes_ = bits;
    if (!parse_field(hour_field, fields[1], bits)) return std::move(*error_);
    e.hours_ = static_cast<std::uint32_t>(bits);
    if (!parse_field(day_of_month_field, fields[2], bits)) return std::move(*error_);
    e.days_ = static_cast<std::uint32_t>(bits);
    if (!parse_field(month_field, fields[3], bits)) return std::move(*error_);
    e.months_ = static_cast<std::uint16_t>(bits);
    if (!parse_field(day_of_week_field, fields[4], bits)) return std::move(*error_);
    e.weekdays_ = static_cast<std::uint8_t>((bits | bits >> 7) & 0x7f);  // 7 is Sunday too

    // cronie's rules key on the first character: `*/2` counts as a star.
    e.wildcard_time_ = fields[0].text.front() == '*' || fields[1].text.front() == '*';
    e.both_days_required_ = fields[2].text.front() == '*' || fields[4].text.front() == '*';
    for (unsigned first = 0; first < 7; ++first) {
      std::uint32_t days = 0;
      for (unsigned d = 1; d <= 31; ++d) {
        if (e.weekdays_ >> ((first + d - 1) % 7) & 1u) days |= std::uint32_t{1} << d;
      }
      e.weekday_days_[first] = days;
    }
    // With either day field free, a date needs both to match; every valid
    // (month, day) falls on every weekday within the 400-year Gregorian
    // cycle, so the schedule can fire exactly when some month holds one of
    // the days. With both restricted, any weekday in any month will do.
    e.can_fire_ = !e.both_days_required_;
    for (unsigned m = 1; m <= 12 && !e.can_fire_; ++m) {
      if ((e.months_ >> m & 1u) && (e.days_ & first_days(days_in_month(2000, m))) != 0) e.can_fire_ = true;
    }
    return e;
  }

 private:
  cron_error error(std::string_view field, std::size_t position, std::string what) const {
    cron_error e;
    e.message = "invalid cron expression \"" + std::string(text_) + "\": " + std::move(what);
    e.field = std::string(field);
    e.position = position;
    return e;
  }

  bool fail(const field_spec& spec, std::size_t position, std::string what) {
    error_ = error(spec.name, position, std::move(what));
    return false;
  }

  std::string column(std::size_t position) const { return "column " + std::to_string(position + 1); }

  // A number or a name at tok[i], in the field's range; advances i.
  bool parse_value(const field_spec& spec, const token& tok, std::size_t& i, int& value) {
    const std::string_view s = tok.text;
    const std::size_t start = i;
    if (i < s.size() && is_digit(s[i])) {
      long long v = 0;
      while (i < s.size() && is_digit(s[i])) {
        v = std::min(v * 10 + (s[i] - '0'), 1'000'000'000LL);
        ++i;
      }
      if (v < spec.low || v > spec.high) {
        return fail(spec, tok.position + start,
                    std::string(spec.name) + " " + std::string(s.substr(start, i - start)) + " out of range " +
                        std::to_string(spec.low) + "-" + std::to_string(spec.high));
      }
      value = static_cast<int>(v);
      return true;
    }
    if (i < s.size() && is_alpha(s[i])) {
      while (i < s.size() && is_alpha(s[i])) ++i;
      const std::string_view word = s.substr(start, i - start);
      if (spec.names.empty()) {
        return fail(spec, tok.position + start,
                    std::string(spec.name) + " \"" + std::string(word) + "\" is not a number");
      }
      for (std::size_t n = 0; n < spec.names.size(); ++n) {
        if (iequals(word, spec.names[n])) {
          value = spec.low + static_cast<int>(n);
          return true;
        }
      }
      return fail(spec, tok.position + start,
                  std::string(spec.name) + " name \"" + std::string(word) + "\" unknown (expected " +
                      std::string(spec.name_hint) + ")");
    }
    if (i == s.size() || s[i] == ',') {
      return fail(spec, tok.position + i,
                  std::string(spec.name) + ": expected a number at " + column(tok.position + i));
    }
    return unexpected(spec, tok, i);
  }

  bool unexpected(const field_spec& spec, const token& tok, std::size_t i) {
    return fail(
        spec, tok.position + i,
        std::string(spec.name) + ": unexpected '" + std::string(1, tok.text[i]) + "' at " + column(tok.position + i));
  }

  // list := item {',' item};  item := ('*' | value ['-' value]) ['/' step]
  bool parse_field(const field_spec& spec, const token& tok, std::uint64_t& bits) {
    const std::string_view s = tok.text;
    bits = 0;
    std::size_t i = 0;
    for (;;) {
      if (i == s.size() || s[i] == ',') {
        return fail(spec, tok.position + i,
                    std::string(spec.name) + ": empty list element at " + column(tok.position + i));
      }
      const std::size_t item_start = i;
      int low = spec.low;
      int high = spec.high;
      bool single = false;
      if (s[i] == '*') {
        ++i;
      } else {
        if (!parse_value(spec, tok, i, low)) return false;
        high = low;
        single = true;
        if (i < s.size() && s[i] == '-') {
          ++i;
          if (!parse_value(spec, tok, i, high)) return false;
          single = false;
          if (high < low) {
            return fail(spec, tok.position + item_start,
                        std::string(spec.name) + " range " + std::string(s.substr(item_start, i - item_start)) +
                            " is reversed");
          }
        }
      }
      int step = 1;
      if (i < s.size() && s[i] == '/') {
        ++i;
        const std::size_t step_start = i;
        if (i == s.size() || !is_digit(s[i])) {
          if (i < s.size() && s[i] != ',') return unexpected(spec, tok, i);
          return fail(spec, tok.position + i - 1,
                      std::string(spec.name) + ": missing step after '/' at " + column(tok.position + i - 1));
        }
        long long v = 0;
        while (i < s.size() && is_digit(s[i])) {
          v = std::min(v * 10 + (s[i] - '0'), 1'000'000'000LL);
          ++i;
        }
        const int span = spec.high - spec.low + 1;
        if (v < 1 || v > span) {
          return fail(spec, tok.position + step_start,
                      std::string(spec.name) + " step " + std::string(s.substr(step_start, i - step_start)) +
                          " out of range 1-" + std::to_string(span));
        }
        step = static_cast<int>(v);
        if (single) high = spec.high;  // `5/15` means 5-59/15
      }
      if (i < s.size() && s[i] != ',') return unexpected(spec, tok, i);
      for (int v = low; v <= high; v += step) bits |= std::uint64_t{1} << v;
      if (i == s.size()) return true;
      ++i;  // the comma
    }
  }

  std::string_view text_;
  std::optional<cron_error> error_;
};

core::result<cron_expression, cron_error> cron_expression::parse(std::string_view text) {
  return cron_expression_parser(text).run();
}

std::uint32_t cron_expression::matching_days(int year, unsigned month) const noexcept {
  const local_days first{std::chrono::year{year} / std::chrono::month{month} / 1};
  const unsigned weekday = std::chrono::weekday{first}.c_encoding();
  const std::uint32_t by_weekday = weekday_days_[weekday];
  const std::uint32_t days = both_days_required_ ? (days_ & by_weekday) : (days_ | by_weekday);
  return days & first_days(days_in_month(year, month));
}

std::optional<int> cron_expression::next_time_of_day(int hour, int minute, int second) const noexcept {
  const int first_second = next_bit(seconds_, 0);
  if (hours_ >> hour & 1u) {
    if (minutes_ >> minute & 1u) {
      if (const int s = next_bit(seconds_, second); s < 60) return hour * 3600 + minute * 60 + s;
    }
    if (const int m = next_bit(minutes_, minute + 1); m < 60) return hour * 3600 + m * 60 + first_second;
  }
  if (const int h = next_bit(hours_, hour + 1); h < 24) {
    return h * 3600 + next_bit(minutes_, 0) * 60 + first_second;
  }
  return std::nullopt;
}

bool cron_expression::matches(local_seconds t) const noexcept {
  const auto day = std::chrono::floor<std::chrono::days>(t);
  const std::chrono::year_month_day ymd{day};
  const auto time = (t - day).count();
  const int hour = static_cast<int>(time / 3600);
  const int minute = static_cast<int>(time / 60 % 60);
  const int second = static_cast<int>(time % 60);
  return (seconds_ >> second & 1u) && (minutes_ >> minute & 1u) && (hours_ >> hour & 1u) &&
         (months_ >> static_cast<unsigned>(ymd.month()) & 1u) &&
         (matching_days(static_cast<int>(ymd.year()), static_cast<unsigned>(ymd.month())) >>
              static_cast<unsigned>(ymd.day()) &
          1u);
}

std::optional<local_seconds> cron_expression::next_match(local_seconds from, int last_year) const noexcept {
  if (!can_fire_) return std::nullopt;
  const auto day = std::chrono::floor<std::chrono::days>(from);
  const std::chrono::year_month_day ymd{day};
  int year = static_cast<int>(ymd.year());
  auto month = static_cast<unsigned>(ymd.month());
  auto dom = static_cast<unsigned>(ymd.day());
  const auto time = (from - day).count();
  int hour = static_cast<int>(time / 3600);
  int minute = static_cast<int>(time / 60 % 60);
  int second = static_cast<int>(time % 60);

  // At most two rounds: if today has no matching time left, the search
  // restarts at tomorrow's midnight, where the first matching time exists.
  for (;;) {
    // Next matching date at or after (year, month, dom).
    const int start_year = year;
    const unsigned start_month = month;
    const unsigned start_dom = dom;
    std::uint32_t days = 0;
    while (year <= last_year) {
      if (months_ >> month & 1u) {
        days = matching_days(year, month) & (~std::uint32_t{0} << dom);
        if (days != 0) break;
      }
      const int next_month = next_bit(months_, static_cast<int>(month) + 1);
      if (next_month <= 12) {
        month = static_cast<unsigned>(next_month);
      } else {
        ++year;
        month = static_cast<unsigned>(next_bit(months_, 1));
      }
      dom = 1;
    }
    if (days == 0) return std::nullopt;
    dom = static_cast<unsigned>(std::countr_zero(days));
    if (year != start_year || month != start_month || dom != start_dom) hour = minute = second = 0;

    if (const auto time_of_day = next_time_of_day(hour, minute, second)) {
      const local_days date{std::chrono::year{year} / std::chrono::month{month} / std::chrono::day{dom}};
      return local_seconds{date} + std::chrono::seconds{*time_of_day};
    }
    hour = minute = second = 0;
    if (++dom > days_in_month(year, month)) {
      dom = 1;
      if (++month > 12) {
        month = 1;
        ++year;
      }
    }
  }
}

}  // namespace cascadence::scheduling

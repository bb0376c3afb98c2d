#include "scheduling/detail/posix_tz_rule.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <fstream>
#include <iterator>

namespace cascadence::scheduling::detail {

namespace {

bool is_digit(char c) noexcept {
  return c >= '0' && c <= '9';
}
bool is_alpha(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

class reader final {
 public:
  explicit reader(std::string_view text) : text_(text) {}

  [[nodiscard]] bool at_end() const noexcept { return i_ == text_.size(); }
  [[nodiscard]] char peek() const noexcept { return at_end() ? '\0' : text_[i_]; }
  bool accept(char c) noexcept {
    if (peek() != c) return false;
    ++i_;
    return true;
  }

  // A zone abbreviation: three or more letters, or anything in <...>.
  bool name() {
    if (accept('<')) {
      const std::size_t close = text_.find('>', i_);
      if (close == std::string_view::npos || close - i_ < 3) return false;
      i_ = close + 1;
      return true;
    }
    const std::size_t start = i_;
    while (is_alpha(peek())) ++i_;
    return i_ - start >= 3;
  }

  std::optional<int> number(int max) {
    if (!is_digit(peek())) return std::nullopt;
    int v = 0;
    while (is_digit(peek())) {
      v = v * 10 + (text_[i_++] - '0');
      if (v > max) return std::nullopt;
    }
    return v;
  }

  // [+-]hh[:mm[:ss]] in seconds; hours up to `max_hours`.
  std::optional<std::int32_t> duration(int max_hours) {
    int sign = 1;
    if (accept('-')) {
      sign = -1;
    } else {
      accept('+');
    }
    const auto h = number(max_hours);
    if (!h) return std::nullopt;
    int m = 0;
    int s = 0;
    if (accept(':')) {
      const auto mm = number(59);
      if (!mm) return std::nullopt;
      m = *mm;
      if (accept(':')) {
        const auto ss = number(59);
        if (!ss) return std::nullopt;
        s = *ss;
      }
    }
    return sign * (*h * 3600 + m * 60 + s);
  }

  std::optional<posix_tz_rule::day_rule> day() {
    posix_tz_rule::day_rule r;
    if (accept('J')) {
      const auto n = number(365);
      if (!n || *n < 1) return std::nullopt;
      r.kind = posix_tz_rule::day_rule::form::julian_no_leap;
      r.day = *n;
      return r;
    }
    if (accept('M')) {
      const auto m = number(12);
      if (!m || *m < 1 || !accept('.')) return std::nullopt;
      const auto w = number(5);
      if (!w || *w < 1 || !accept('.')) return std::nullopt;
      const auto d = number(6);
      if (!d) return std::nullopt;
      r.kind = posix_tz_rule::day_rule::form::month_week_day;
      r.month = *m;
      r.week = *w;
      r.day = *d;
      return r;
    }
    const auto n = number(365);
    if (!n) return std::nullopt;
    r.kind = posix_tz_rule::day_rule::form::zero_based;
    r.day = *n;
    return r;
  }

 private:
  std::string_view text_;
  std::size_t i_ = 0;
};

bool is_leap(int year) noexcept {
  return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

// Days since the epoch of the rule's day in `year`.
std::int64_t day_in(const posix_tz_rule::day_rule& r, int year) {
  using namespace std::chrono;
  const auto jan1 = sys_days{std::chrono::year{year} / January / 1}.time_since_epoch().count();
  switch (r.kind) {
    case posix_tz_rule::day_rule::form::julian_no_leap:
      return jan1 + r.day - 1 + (is_leap(year) && r.day >= 60 ? 1 : 0);
    case posix_tz_rule::day_rule::form::zero_based:
      return jan1 + r.day;
    case posix_tz_rule::day_rule::form::month_week_day:
      break;
  }
  const auto wd = weekday{static_cast<unsigned>(r.day)};
  const auto ymw = std::chrono::year{year} / month{static_cast<unsigned>(r.month)};
  const sys_days d = r.week == 5 ? sys_days{ymw / wd[last]} : sys_days{ymw / wd[static_cast<unsigned>(r.week)]};
  return d.time_since_epoch().count();
}

std::uint32_t be32(const std::string& data, std::size_t at) {
  return static_cast<std::uint32_t>(static_cast<unsigned char>(data[at])) << 24 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(data[at + 1])) << 16 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(data[at + 2])) << 8 |
         static_cast<std::uint32_t>(static_cast<unsigned char>(data[at + 3]));
}

}  // namespace

std::optional<posix_tz_rule> posix_tz_rule::parse(std::string_view text) {
  reader in(text);
  posix_tz_rule r;
  if (!in.name()) return std::nullopt;
  const auto standard = in.duration(24);
  if (!standard) return std::nullopt;
  // POSIX offsets count hours west of Greenwich.
  r.standard_offset = -*standard;
  r.dst_offset = r.standard_offset;
  if (in.at_end()) return r;

  if (!in.name()) return std::nullopt;
  r.has_dst = true;
  r.dst_offset = r.standard_offset + 3600;
  if (in.peek() != ',' && !in.at_end()) {
    const auto dst = in.duration(24);
    if (!dst) return std::nullopt;
    r.dst_offset = -*dst;
  }
  // Rule-less DST falls back to the US rules, as POSIX implementations do;
  // zic always writes the rules, so this is for completeness.
  r.dst_start = {day_rule::form::month_week_day, 0, 3, 2};
  r.dst_end = {day_rule::form::month_week_day, 0, 11, 1};
  if (in.at_end()) return r;

  if (!in.accept(',')) return std::nullopt;
  const auto start = in.day();
  if (!start) return std::nullopt;
  r.dst_start = *start;
  if (in.accept('/')) {
    const auto t = in.duration(167);  // RFC 8536 allows -167..167 hours
    if (!t) return std::nullopt;
    r.dst_start_time = *t;
  }
  if (!in.accept(',')) return std::nullopt;
  const auto end = in.day();
  if (!end) return std::nullopt;
  r.dst_end = *end;
  if (in.accept('/')) {
    const auto t = in.duration(167);
    if (!t) return std::nullopt;
    r.dst_end_time = *t;
  }
  if (!in.at_end()) return std::nullopt;
  return r;
}

std::vector<std::pair<std::int64_t, std::int32_t>> posix_tz_rule::transitions_in(int year) const {
  if (!has_dst) return {};
  // The start is given in standard wall-clock time, the end in DST.
  const std::int64_t start = day_in(dst_start, year) * 86400 + dst_start_time - standard_offset;
  const std::int64_t end = day_in(dst_end, year) * 86400 + dst_end_time - dst_offset;
  std::vector<std::pair<std::int64_t, std::int32_t>> out{{start, dst_offset}, {end, standard_offset}};
  // Southern-hemisphere rules end DST before they start it; a year-round
  // DST rule (`EST5EDT,0/0,J365/25`) ends it at the instant the next year
  // starts it, which the caller's merging of equal offsets absorbs.
  std::stable_sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

std::optional<std::string> read_tzif_footer(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) return std::nullopt;
  const std::string data{std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
  constexpr std::size_t header_size = 44;
  // Header: "TZif", version, 15 reserved bytes, then six counts:
  // isutcnt, isstdcnt, leapcnt, timecnt, typecnt, charcnt.
  const auto block_size = [&data](std::size_t header, std::size_t time_size) -> std::optional<std::size_t> {
    if (data.size() < header + header_size || data.compare(header, 4, "TZif") != 0) return std::nullopt;
    const std::size_t isut = be32(data, header + 20);
    const std::size_t isstd = be32(data, header + 24);
    const std::size_t leap = be32(data, header + 28);
    const std::size_t time = be32(data, header + 32);
    const std::size_t type = be32(data, header + 36);
    const std::size_t chars = be32(data, header + 40);
    return time * time_size + time + type * 6 + chars + leap * (time_size + 4) + isstd + isut;
  };
  const auto v1 = block_size(0, 4);
  if (!v1 || data[4] < '2') return std::nullopt;
  const std::size_t v2_header = header_size + *v1;
  const auto v2 = block_size(v2_header, 8);
  if (!v2) return std::nullopt;
  const std::size_t footer = v2_header + header_size + *v2;
  if (footer >= data.size() || data[footer] != '\n') return std::nullopt;
  const std::size_t close = data.find('\n', footer + 1);
  if (close == std::string::npos) return std::nullopt;
  return data.substr(footer + 1, close - footer - 1);
}

}  // namespace cascadence::scheduling::detail

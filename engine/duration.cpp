#include "engine/duration.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>

namespace cascadence::engine {

namespace {
struct unit {
  std::string_view name;
  std::int64_t ms;
};
// Longest names first so "ms" is not read as "m" followed by garbage.
constexpr std::array<unit, 5> units{{{"ms", 1}, {"d", 86'400'000}, {"h", 3'600'000}, {"m", 60'000}, {"s", 1000}}};

// parse_duration() without its maximum.
std::optional<std::chrono::milliseconds> parse_any_duration(std::string_view text) noexcept {
  if (text.empty()) return std::nullopt;
  std::int64_t total = 0;
  while (!text.empty()) {
    std::int64_t n = 0;
    std::size_t digits = 0;
    while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
      if (n > std::numeric_limits<std::int64_t>::max() / 10 - 10) return std::nullopt;
      n = n * 10 + (text[digits] - '0');
      ++digits;
    }
    if (digits == 0) return std::nullopt;
    text.remove_prefix(digits);
    const unit* found = nullptr;
    for (const auto& u : units) {
      if (text.starts_with(u.name)) {
        found = &u;
        break;
      }
    }
    if (found == nullptr) return std::nullopt;
    text.remove_prefix(found->name.size());
    if (n > (std::numeric_limits<std::int64_t>::max() - total) / found->ms) return std::nullopt;
    total += n * found->ms;
  }
  return std::chrono::milliseconds(total);
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) noexcept {
  auto d = parse_any_duration(text);
  if (d && *d > max_duration) return std::nullopt;
  return d;
}

std::string duration_error(std::string_view text) {
  if (parse_any_duration(text)) {
    return "duration '" + std::string(text) + "' is longer than the maximum, " + format_duration(max_duration);
  }
  return "invalid duration '" + std::string(text) + "' (write a whole number with ms, s, m, h or d, e.g. 30s or 1h30m)";
}

std::string format_duration(std::chrono::milliseconds d) {
  auto ms = d.count();
  if (ms == 0) return "0s";
  std::string out;
  for (const auto& u : {units[1], units[2], units[3], units[4], units[0]}) {
    if (ms >= u.ms) {
      out += std::to_string(ms / u.ms) + std::string(u.name);
      ms %= u.ms;
    }
  }
  return out;
}

}  // namespace cascadence::engine

namespace cascadence::engine {

std::optional<std::chrono::milliseconds> parse_seconds_or_duration(std::string_view text) noexcept {
  constexpr std::int64_t year_ms = 366LL * 86'400'000;
  std::optional<std::chrono::milliseconds> out;
  if (!text.empty() && text.find_first_not_of("0123456789.") == std::string_view::npos) {
    double seconds = 0;
    const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), seconds);
    if (ec == std::errc() && ptr == text.data() + text.size() && seconds * 1000 <= static_cast<double>(year_ms)) {
      out = std::chrono::milliseconds(static_cast<std::int64_t>(std::llround(seconds * 1000)));
    }
  } else {
    out = parse_duration(text);
  }
  if (!out || out->count() <= 0 || out->count() > year_ms) return std::nullopt;
  return out;
}

}  // namespace cascadence::engine

#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace cascadence::engine {

/// The longest duration parse_duration() accepts: 3650 days. Every timer
/// of Cascadence (timeouts, sleeps, graces, HTTP limits) stays exact below
/// it; a longer one would overflow the clock's nanoseconds on the way.
inline constexpr std::chrono::milliseconds max_duration{3650LL * 86'400'000};

/// Parses durations as users write them in configuration: a whole number
/// with a unit (`500ms`, `30s`, `5m`, `1h`, `2d`), or several (`1h30m`).
/// Nullopt for anything else, including a bare number, negative values and
/// anything longer than max_duration.
[[nodiscard]] std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) noexcept;

/// Why parse_duration(text) refused `text`, as one sentence naming it:
/// "invalid duration '5x' (write a whole number with ms, s, m, h or d, e.g.
/// 30s or 1h30m)", or "duration '1000000d' is longer than the maximum, 3650d".
[[nodiscard]] std::string duration_error(std::string_view text);

/// The shortest exact form parse_duration() reads back (`90s` -> `1m30s`).
[[nodiscard]] std::string format_duration(std::chrono::milliseconds d);

}  // namespace cascadence::engine

namespace cascadence::engine {

/// A positive interval as the seed's variables gave it, in seconds (`600`,
/// `0.5`), or as parse_duration() reads it (`10m`); nullopt for anything
/// else, zero and negative values included, and for more than a year.
[[nodiscard]] std::optional<std::chrono::milliseconds> parse_seconds_or_duration(std::string_view text) noexcept;

}  // namespace cascadence::engine

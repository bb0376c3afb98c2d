#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace cascadence::engine {

/// Parses durations as users write them in configuration: a whole number
/// with a unit (`500ms`, `30s`, `5m`, `1h`, `2d`), or several (`1h30m`).
/// Nullopt for anything else, including a bare number and negative values.
[[nodiscard]] std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) noexcept;

/// The shortest exact form parse_duration() reads back (`90s` -> `1m30s`).
[[nodiscard]] std::string format_duration(std::chrono::milliseconds d);

}  // namespace cascadence::engine

namespace cascadence::engine {

/// A positive interval as the seed's variables gave it, in seconds (`600`,
/// `0.5`), or as parse_duration() reads it (`10m`); nullopt for anything
/// else, zero and negative values included, and for more than a year.
[[nodiscard]] std::optional<std::chrono::milliseconds> parse_seconds_or_duration(std::string_view text) noexcept;

}  // namespace cascadence::engine

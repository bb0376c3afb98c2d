#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace cascadence::engine {

/// The final state of one task in one graph run.
enum class run_status : std::uint8_t { success, failed, timed_out, cancelled, skipped };

/// The lower-case name used in output and JSON (`timed_out`, ...).
[[nodiscard]] std::string_view to_string(run_status status) noexcept;

/// Parses a name produced by to_string().
[[nodiscard]] std::optional<run_status> parse_run_status(std::string_view name) noexcept;

}  // namespace cascadence::engine

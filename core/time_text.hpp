#pragma once

#include <chrono>
#include <string>

namespace cascadence::core {

/// An instant as ISO 8601 UTC with milliseconds, `2026-01-02T03:04:05.678Z`
/// (truncated, not rounded; instants before 1970 are exact too). The one
/// format of run reports, the REST API and log lines.
[[nodiscard]] std::string format_utc(std::chrono::system_clock::time_point t);
/// format_utc() appended to `out`, without a string of its own.
void append_utc(std::string& out, std::chrono::system_clock::time_point t);

/// A duration as seconds with milliseconds, `0.412s`, as status lines show it.
[[nodiscard]] std::string format_seconds(std::chrono::nanoseconds d);

}  // namespace cascadence::core

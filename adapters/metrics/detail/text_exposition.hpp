#pragma once

// Numbers and label values in the Prometheus text exposition format
// (0.0.4), written straight into a string exactly as prometheus-cpp 1.0's
// TextSerializer writes them. That serializer goes through an ostream and
// printf's %.16g machinery for every number; with the series of 1,000 tasks
// that took most of a 50-80 ms scrape. Only adapters/metrics includes this.

#include <cstdint>
#include <string>
#include <string_view>

namespace cascadence::adapters::metrics::detail {

/// Appends a sample value as TextSerializer writes it: printf's `%.16g`,
/// with `Nan`, `+Inf` and `-Inf`.
void append_value(std::string& out, double v);

/// Appends a count (histogram `_count` and buckets) in decimal.
void append_count(std::string& out, std::uint64_t v);

/// Appends a label value escaped for the text format (`\\`, `\"`, `\n`).
void append_label_value(std::string& out, std::string_view value);

}  // namespace cascadence::adapters::metrics::detail

#pragma once

// The Prometheus text exposition format (0.0.4) written straight into a
// string. prometheus-cpp's TextSerializer writes through an ostream and
// formats every number with printf; with the series of 1,000 tasks that
// took ~90 ms per scrape. Only metrics.cpp and its tests include this.

#include <prometheus/metric_family.h>

#include <string>
#include <vector>

namespace cascadence::adapters::metrics::detail {

/// Appends `families` to `out` byte for byte as prometheus-cpp 1.0's
/// TextSerializer writes them: `# HELP` (when there is help) and `# TYPE`
/// lines, label values escaped (`\\`, `\"`, `\n`), numbers as printf's
/// `%.16g` with `Nan`, `+Inf` and `-Inf`, histograms as `_count`, `_sum`,
/// then cumulative `_bucket`s ending with `le="+Inf"`.
void write_text_exposition(const std::vector<prometheus::MetricFamily>& families, std::string& out);

}  // namespace cascadence::adapters::metrics::detail

#pragma once

// A metric family that keeps its own series and writes itself in the text
// format. prometheus-cpp's Registry::Collect() copies every series into
// ClientMetric structures (label strings, bucket vectors) before a
// serializer walks them; with 1,000 tasks that copy alone took longer than
// a scrape may. Here each series is stored under its rendered label text,
// which is its key, its sort order and what render() writes. The metric
// objects stay prometheus-cpp's (atomic counters, gauges, histograms). Only
// metrics.cpp and its tests include this.

#include <prometheus/client_metric.h>
#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>

#include <initializer_list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cascadence::adapters::metrics::detail {

/// One label of a series: its name and its value, unescaped.
using label = std::pair<std::string_view, std::string_view>;

/// Appends `labels` as they appear between a series' braces: sorted by
/// name, values escaped, `name="value"` joined by commas.
void append_label_text(std::string& out, std::initializer_list<label> labels);

/// The series of one metric name. Metric is prometheus::Counter,
/// prometheus::Gauge or prometheus::Histogram. Thread-safe.
template <typename Metric>
class series_family final {
 public:
  /// A counter or gauge family; `help` may be empty.
  series_family(std::string name, std::string help);
  /// A histogram family whose series all have `buckets`.
  series_family(std::string name, std::string help, std::vector<double> buckets);
  series_family(const series_family&) = delete;
  series_family& operator=(const series_family&) = delete;

  /// The series with `labels`, created on first use. The reference stays
  /// valid until remove() or the family's end.
  [[nodiscard]] Metric& get(std::initializer_list<label> labels);
  /// Removes the series `metric` (a reference from get()).
  void remove(const Metric& metric);
  /// Appends `# HELP`, `# TYPE` and every series in label order, as
  /// prometheus-cpp's TextSerializer writes them; nothing without series.
  void render(std::string& out) const;
  /// The family as prometheus-cpp's Collect() describes one, series in
  /// render()'s order (to check render() against TextSerializer).
  [[nodiscard]] prometheus::MetricFamily collect() const;

 private:
  std::string name_;
  std::string help_;
  std::vector<double> buckets_;
  std::vector<std::string> bucket_labels_;  // `le` values, formatted once
  mutable std::mutex mutex_;
  // Sorted by label text, so that render() walks contiguous memory; a new
  // series is inserted in place (rare: once per task, route or status).
  std::vector<std::pair<std::string, std::unique_ptr<Metric>>> series_;
};

extern template class series_family<prometheus::Counter>;
extern template class series_family<prometheus::Gauge>;
extern template class series_family<prometheus::Histogram>;

}  // namespace cascadence::adapters::metrics::detail

#include "adapters/metrics/detail/series_family.hpp"

#include "adapters/metrics/detail/text_exposition.hpp"

#include <algorithm>
#include <array>
#include <limits>
#include <stdexcept>
#include <type_traits>

namespace cascadence::adapters::metrics::detail {

namespace {

template <typename Metric>
constexpr std::string_view type_name() {
  if constexpr (std::is_same_v<Metric, prometheus::Counter>) return "counter";
  if constexpr (std::is_same_v<Metric, prometheus::Gauge>) return "gauge";
  return "histogram";
}

// `name_suffix{labels} ` (no braces without labels).
void append_head(std::string& out, std::string_view name, std::string_view suffix, std::string_view labels) {
  out += name;
  out += suffix;
  if (!labels.empty()) {
    out += '{';
    out += labels;
    out += '}';
  }
  out += ' ';
}

// The (name, value) pairs of a label text, unescaped.
std::vector<prometheus::ClientMetric::Label> parse_label_text(std::string_view text) {
  std::vector<prometheus::ClientMetric::Label> out;
  std::size_t i = 0;
  while (i < text.size()) {
    prometheus::ClientMetric::Label l;
    const auto eq = text.find('=', i);
    l.name = std::string(text.substr(i, eq - i));
    i = eq + 2;  // past `="`
    for (; text[i] != '"'; ++i) {
      if (text[i] == '\\') {
        ++i;
        l.value += text[i] == 'n' ? '\n' : text[i];
      } else {
        l.value += text[i];
      }
    }
    i += 2;  // past `",`
    out.push_back(std::move(l));
  }
  return out;
}

}  // namespace

void append_label_text(std::string& out, std::initializer_list<label> labels) {
  // At most a handful of labels: sort their addresses by name.
  std::array<const label*, 8> sorted{};
  if (labels.size() > sorted.size()) throw std::invalid_argument("too many metric labels");
  std::size_t n = 0;
  // Insertion sort, by hand: std::sort over part of a fixed array trips
  // GCC 12's -Warray-bounds at -O2 with the sanitizers (a false positive).
  for (const auto& l : labels) {
    std::size_t i = n++;
    for (; i > 0 && l.first < sorted[i - 1]->first; --i) sorted[i] = sorted[i - 1];
    sorted[i] = &l;
  }
  for (std::size_t i = 0; i < n; ++i) {
    if (i != 0) out += ',';
    out += sorted[i]->first;
    out += "=\"";
    append_label_value(out, sorted[i]->second);
    out += '"';
  }
}

template <typename Metric>
series_family<Metric>::series_family(std::string name, std::string help)
    : name_(std::move(name)), help_(std::move(help)) {}

template <typename Metric>
series_family<Metric>::series_family(std::string name, std::string help, std::vector<double> buckets)
    : name_(std::move(name)), help_(std::move(help)), buckets_(std::move(buckets)) {
  for (const double b : buckets_) append_value(bucket_labels_.emplace_back(), b);
}

template <typename Metric>
Metric& series_family<Metric>::get(std::initializer_list<label> labels) {
  // The key is built in a buffer reused by this thread: a lookup that finds
  // its series (all but the first) allocates nothing.
  thread_local std::string key;
  key.clear();
  append_label_text(key, labels);
  const std::lock_guard lock(mutex_);
  auto it = std::lower_bound(series_.begin(), series_.end(), key,
                             [](const auto& entry, const std::string& k) { return entry.first < k; });
  if (it == series_.end() || it->first != key) {
    std::unique_ptr<Metric> metric;
    if constexpr (std::is_same_v<Metric, prometheus::Histogram>) {
      metric = std::make_unique<Metric>(buckets_);
    } else {
      metric = std::make_unique<Metric>();
    }
    it = series_.emplace(it, key, std::move(metric));
  }
  return *it->second;
}

template <typename Metric>
void series_family<Metric>::remove(const Metric& metric) {
  const std::lock_guard lock(mutex_);
  std::erase_if(series_, [&](const auto& entry) { return entry.second.get() == &metric; });
}

template <typename Metric>
void series_family<Metric>::render(std::string& out) const {
  const std::lock_guard lock(mutex_);
  if (series_.empty()) return;
  if (!help_.empty()) {
    out += "# HELP ";
    out += name_;
    out += ' ';
    out += help_;
    out += '\n';
  }
  out += "# TYPE ";
  out += name_;
  out += ' ';
  out += type_name<Metric>();
  out += '\n';
  std::string bucket_prefix;
  for (const auto& [labels, metric] : series_) {
    if constexpr (std::is_same_v<Metric, prometheus::Histogram>) {
      const auto h = metric->Collect().histogram;
      append_head(out, name_, "_count", labels);
      append_count(out, h.sample_count);
      out += '\n';
      append_head(out, name_, "_sum", labels);
      append_value(out, h.sample_sum);
      out += '\n';
      // Every bucket line starts `name_bucket{labels,le="`: build it once.
      bucket_prefix.assign(name_);
      bucket_prefix += "_bucket{";
      if (!labels.empty()) {
        bucket_prefix += labels;
        bucket_prefix += ',';
      }
      bucket_prefix += "le=\"";
      // Our buckets, then prometheus-cpp's own +Inf bucket, which it always
      // adds: written `+Inf` as TextSerializer does.
      for (std::size_t i = 0; i < h.bucket.size(); ++i) {
        out += bucket_prefix;
        if (i < bucket_labels_.size()) {
          out += bucket_labels_[i];
        } else {
          append_value(out, h.bucket[i].upper_bound);
        }
        out += "\"} ";
        append_count(out, h.bucket[i].cumulative_count);
        out += '\n';
      }
      if (h.bucket.empty() || h.bucket.back().upper_bound != std::numeric_limits<double>::infinity()) {
        out += bucket_prefix;
        out += "+Inf\"} ";
        append_count(out, h.sample_count);
        out += '\n';
      }
    } else {
      append_head(out, name_, "", labels);
      append_value(out, metric->Value());
      out += '\n';
    }
  }
}

template <typename Metric>
prometheus::MetricFamily series_family<Metric>::collect() const {
  const std::lock_guard lock(mutex_);
  prometheus::MetricFamily out;
  out.name = name_;
  out.help = help_;
  if constexpr (std::is_same_v<Metric, prometheus::Counter>) out.type = prometheus::MetricType::Counter;
  if constexpr (std::is_same_v<Metric, prometheus::Gauge>) out.type = prometheus::MetricType::Gauge;
  if constexpr (std::is_same_v<Metric, prometheus::Histogram>) out.type = prometheus::MetricType::Histogram;
  for (const auto& [labels, metric] : series_) {
    auto m = metric->Collect();
    m.label = parse_label_text(labels);
    out.metric.push_back(std::move(m));
  }
  return out;
}

template class series_family<prometheus::Counter>;
template class series_family<prometheus::Gauge>;
template class series_family<prometheus::Histogram>;

}  // namespace cascadence::adapters::metrics::detail

#include "adapters/metrics/detail/text_exposition.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string_view>

namespace cascadence::adapters::metrics::detail {

namespace {

using prometheus::ClientMetric;
using prometheus::MetricFamily;
using prometheus::MetricType;

// printf's "%.16g" (what TextSerializer's ostream precision gives), with
// integers below 1e16, the common case of counters and bucket counts, taken
// the short way: %.16g prints those as plain digits too.
void append_number(std::string& out, double v) {
  if (std::isnan(v)) {
    out += "Nan";
    return;
  }
  if (std::isinf(v)) {
    out += v < 0 ? "-Inf" : "+Inf";
    return;
  }
  std::array<char, 32> buf{};
  std::to_chars_result r{};
  if (std::abs(v) < 1e16 && v == std::trunc(v) && !(v == 0 && std::signbit(v))) {
    r = std::to_chars(buf.data(), buf.data() + buf.size(), static_cast<std::int64_t>(v));
  } else {
    r = std::to_chars(buf.data(), buf.data() + buf.size(), v, std::chars_format::general, 16);
  }
  out.append(buf.data(), r.ptr);
}

void append_integer(std::string& out, std::uint64_t v) {
  std::array<char, 24> buf{};
  const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  out.append(buf.data(), r.ptr);
}

void append_escaped(std::string& out, std::string_view value) {
  for (const char c : value) {
    if (c == '\\' || c == '"') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

// Writes the lines of a family's metrics: each metric's labels are escaped
// once, not once per line, into buffers reused from metric to metric.
class metric_lines final {
 public:
  metric_lines(std::string& out, const MetricFamily& family) : out_(out), family_(family) {}

  void start(const ClientMetric& metric) {
    labels_.clear();
    tail_.clear();
    for (const auto& label : metric.label) {
      if (!labels_.empty()) labels_ += ',';
      labels_ += label.name;
      labels_ += "=\"";
      append_escaped(labels_, label.value);
      labels_ += '"';
    }
    if (metric.timestamp_ms != 0) {
      tail_ += ' ';
      tail_ += std::to_string(metric.timestamp_ms);
    }
    tail_ += '\n';
  }

  // `name_suffix{labels} ` (no braces without labels).
  void head(std::string_view suffix) {
    out_ += family_.name;
    out_ += suffix;
    if (!labels_.empty()) {
      out_ += '{';
      out_ += labels_;
      out_ += '}';
    }
    out_ += ' ';
  }
  // `name_suffix{labels,extra="value"} `, with `value` already escaped.
  void head(std::string_view suffix, std::string_view extra, std::string_view value) {
    out_ += family_.name;
    out_ += suffix;
    out_ += '{';
    if (!labels_.empty()) {
      out_ += labels_;
      out_ += ',';
    }
    out_ += extra;
    out_ += "=\"";
    out_ += value;
    out_ += "\"} ";
  }
  void tail() { out_ += tail_; }

 private:
  std::string& out_;
  const MetricFamily& family_;
  std::string labels_;
  std::string tail_;
};

}  // namespace

void write_text_exposition(const std::vector<MetricFamily>& families, std::string& out) {
  std::vector<double> bounds;  // the bucket bounds `les` was formatted for
  std::vector<std::string> les;
  for (const auto& family : families) {
    if (!family.help.empty()) {
      out += "# HELP ";
      out += family.name;
      out += ' ';
      out += family.help;
      out += '\n';
    }
    out += "# TYPE ";
    out += family.name;
    switch (family.type) {
      case MetricType::Counter:
        out += " counter\n";
        break;
      case MetricType::Gauge:
        out += " gauge\n";
        break;
      case MetricType::Summary:
        out += " summary\n";
        break;
      case MetricType::Untyped:
        out += " untyped\n";
        break;
      case MetricType::Histogram:
        out += " histogram\n";
        break;
    }
    metric_lines line(out, family);
    for (const auto& metric : family.metric) {
      line.start(metric);
      switch (family.type) {
        case MetricType::Counter:
          line.head("");
          append_number(out, metric.counter.value);
          line.tail();
          break;
        case MetricType::Gauge:
          line.head("");
          append_number(out, metric.gauge.value);
          line.tail();
          break;
        case MetricType::Untyped:
          line.head("");
          append_number(out, metric.untyped.value);
          line.tail();
          break;
        case MetricType::Summary: {
          const auto& s = metric.summary;
          line.head("_count");
          append_integer(out, s.sample_count);
          line.tail();
          line.head("_sum");
          append_number(out, s.sample_sum);
          line.tail();
          for (const auto& q : s.quantile) {
            std::string quantile;
            append_number(quantile, q.quantile);
            line.head("", "quantile", quantile);
            append_number(out, q.value);
            line.tail();
          }
          break;
        }
        case MetricType::Histogram: {
          const auto& h = metric.histogram;
          line.head("_count");
          append_integer(out, h.sample_count);
          line.tail();
          line.head("_sum");
          append_number(out, h.sample_sum);
          line.tail();
          // Every series of a family has the same bounds: format them once.
          bool same = bounds.size() == h.bucket.size();
          for (std::size_t i = 0; same && i < bounds.size(); ++i) same = bounds[i] == h.bucket[i].upper_bound;
          if (!same) {
            bounds.clear();
            les.clear();
            for (const auto& b : h.bucket) {
              bounds.push_back(b.upper_bound);
              les.emplace_back();
              append_number(les.back(), b.upper_bound);
            }
          }
          double last = -std::numeric_limits<double>::infinity();
          for (std::size_t i = 0; i < h.bucket.size(); ++i) {
            line.head("_bucket", "le", les[i]);
            append_integer(out, h.bucket[i].cumulative_count);
            line.tail();
            last = h.bucket[i].upper_bound;
          }
          if (last != std::numeric_limits<double>::infinity()) {
            line.head("_bucket", "le", "+Inf");
            append_integer(out, h.sample_count);
            line.tail();
          }
          break;
        }
      }
    }
  }
}

}  // namespace cascadence::adapters::metrics::detail

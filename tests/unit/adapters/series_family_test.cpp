#include "adapters/metrics/detail/series_family.hpp"

#include <prometheus/text_serializer.h>

#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

using namespace cascadence::adapters::metrics::detail;

namespace {

// What prometheus-cpp's own serializer writes for the family, and what
// render() writes.
template <typename Metric>
std::pair<std::string, std::string> both(const series_family<Metric>& family) {
  std::string ours;
  family.render(ours);
  return {prometheus::TextSerializer().Serialize({family.collect()}), ours};
}

}  // namespace

TEST_CASE("gauges render byte for byte as prometheus-cpp's TextSerializer writes them") {
  series_family<prometheus::Gauge> gauges("values", "assorted values");
  const double inf = std::numeric_limits<double>::infinity();
  const double values[] = {0,
                           -0.0,
                           1,
                           -1,
                           1e6,
                           1e15,
                           9999999999999999.0,
                           1e16,
                           1e17,
                           123456789012345678.0,
                           0.1,
                           0.1 + 0.2,
                           1.0 / 3,
                           1e-7,
                           0.0005,
                           1764170000.123456,
                           std::nan(""),
                           inf,
                           -inf,
                           -2.5,
                           5e-324,
                           std::numeric_limits<double>::max(),
                           std::numeric_limits<double>::lowest()};
  int i = 0;
  for (const double v : values) {
    const auto name = std::to_string(i++);
    gauges.get({{"i", name}}).Set(v);
  }
  gauges.get({{"i", "x"}, {"escaped", "quote \" backslash \\ newline \n end"}}).Set(7);
  const auto [theirs, ours] = both(gauges);
  REQUIRE_FALSE(theirs.empty());
  CHECK(ours == theirs);
}

TEST_CASE("random numbers of every magnitude are formatted as prometheus-cpp formats them") {
  series_family<prometheus::Gauge> gauges("random", "random");
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<std::uint64_t> bits;
  std::uniform_real_distribution<double> unit(-1, 1);
  std::uniform_int_distribution<int> exponent(-30, 30);
  for (int i = 0; i < 2000; ++i) {
    double v = 0;
    switch (i % 3) {
      case 0:  // any finite double
        do v = std::bit_cast<double>(bits(rng));
        while (!std::isfinite(v));
        break;
      case 1:  // everyday magnitudes
        v = unit(rng) * std::pow(10.0, exponent(rng));
        break;
      default:  // integers around the 1e16 boundary of the short path
        v = std::round(unit(rng) * 2e16);
        break;
    }
    const auto name = std::to_string(i);
    gauges.get({{"i", name}}).Set(v);
  }
  const auto [theirs, ours] = both(gauges);
  CHECK(ours == theirs);
}

TEST_CASE("counters and histograms render as TextSerializer writes them, labels sorted by name") {
  series_family<prometheus::Counter> counters("events_total", "");
  counters.get({}).Increment(3);
  counters.get({{"kind", "a"}, {"code", "200"}}).Increment(0.25);
  auto [theirs, ours] = both(counters);
  CHECK(ours == theirs);
  CHECK(ours.find(R"(events_total{code="200",kind="a"} 0.25)") != std::string::npos);

  series_family<prometheus::Histogram> latency("latency_seconds", "latency", {0.0001, 0.00025, 0.005, 1, 300, 1e21});
  auto& h = latency.get({{"route", "/a"}});
  h.Observe(0.0002);
  h.Observe(2);
  h.Observe(1000);
  latency.get({{"route", "/b"}}).Observe(0.7);
  std::tie(theirs, ours) = both(latency);
  CHECK(ours == theirs);
  CHECK(ours.find(R"(latency_seconds_bucket{route="/a",le="+Inf"} 3)") != std::string::npos);

  series_family<prometheus::Histogram> unlabelled("unlabelled_seconds", "x", {1, 2});
  unlabelled.get({}).Observe(1.5);
  std::tie(theirs, ours) = both(unlabelled);
  CHECK(ours == theirs);
}

TEST_CASE("a series is found again whatever the order of its labels, and can be removed") {
  series_family<prometheus::Counter> counters("c_total", "c");
  auto& a = counters.get({{"x", "1"}, {"y", "2"}});
  CHECK(&counters.get({{"y", "2"}, {"x", "1"}}) == &a);
  CHECK(&counters.get({{"x", "1"}, {"y", "3"}}) != &a);
  counters.remove(a);
  std::string out;
  counters.render(out);
  CHECK(out.find(R"(y="2")") == std::string::npos);
  CHECK(out.find(R"(y="3")") != std::string::npos);
}

TEST_CASE("a family without series renders nothing") {
  series_family<prometheus::Gauge> empty("empty", "no series");
  std::string out;
  empty.render(out);
  CHECK(out.empty());
}

#include "adapters/metrics/detail/text_exposition.hpp"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/summary.h>
#include <prometheus/text_serializer.h>

#include <doctest/doctest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>

using cascadence::adapters::metrics::detail::write_text_exposition;

namespace {

// What prometheus-cpp's own serializer writes, and what ours writes.
std::pair<std::string, std::string> both(const prometheus::Registry& registry) {
  const auto families = registry.Collect();
  std::string ours;
  write_text_exposition(families, ours);
  return {prometheus::TextSerializer().Serialize(families), ours};
}

}  // namespace

TEST_CASE("the exposition is byte for byte what prometheus-cpp's TextSerializer writes") {
  prometheus::Registry registry;
  auto& gauges = prometheus::BuildGauge().Name("values").Help("assorted values").Register(registry);
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
  for (const double v : values) gauges.Add({{"i", std::to_string(i++)}}).Set(v);
  gauges.Add({{"escaped", "quote \" backslash \\ newline \n end"}, {"i", "x"}}).Set(7);

  auto& counters = prometheus::BuildCounter().Name("events_total").Help("").Register(registry);
  counters.Add({}).Increment(3);
  counters.Add({{"kind", "a"}}).Increment(0.25);

  auto& histograms = prometheus::BuildHistogram().Name("latency_seconds").Help("latency").Register(registry);
  auto& h = histograms.Add({{"route", "/a"}}, prometheus::Histogram::BucketBoundaries{0.0001, 0.00025, 0.005, 1, 300});
  h.Observe(0.0002);
  h.Observe(2);
  h.Observe(1000);
  histograms.Add({{"route", "/b"}}, prometheus::Histogram::BucketBoundaries{0.5, 1e21}).Observe(0.7);
  histograms.Add({{"route", "/c"}}, prometheus::Histogram::BucketBoundaries{0.5, inf}).Observe(0.1);
  prometheus::BuildHistogram()
      .Name("unlabelled_seconds")
      .Help("x")
      .Register(registry)
      .Add({}, prometheus::Histogram::BucketBoundaries{1, 2})
      .Observe(1.5);

  auto& summaries = prometheus::BuildSummary().Name("sizes").Help("sizes").Register(registry);
  summaries.Add({}, prometheus::Summary::Quantiles{{0.5, 0.05}, {0.99, 0.001}}).Observe(2);
  summaries.Add({{"k", "v"}}, prometheus::Summary::Quantiles{{0.9, 0.01}}).Observe(0.125);

  prometheus::BuildGauge().Name("empty_family").Help("no series").Register(registry);

  const auto [theirs, ours] = both(registry);
  REQUIRE_FALSE(theirs.empty());
  CHECK(ours == theirs);
}

TEST_CASE("random numbers of every magnitude are formatted as prometheus-cpp formats them") {
  prometheus::Registry registry;
  auto& gauges = prometheus::BuildGauge().Name("random").Help("random").Register(registry);
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
    gauges.Add({{"i", std::to_string(i)}}).Set(v);
  }
  const auto [theirs, ours] = both(registry);
  REQUIRE_FALSE(theirs.empty());
  CHECK(ours == theirs);
}

TEST_CASE("an empty registry renders nothing") {
  prometheus::Registry registry;
  std::string ours;
  write_text_exposition(registry.Collect(), ours);
  CHECK(ours.empty());
}

// Temporal's payloads as JSON (adapters/temporal/payloads.hpp); the
// client's use of them is in temporal_client_test.cpp.

#include "adapters/temporal/payloads.hpp"
#include "core/text.hpp"

#include <doctest/doctest.h>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace temporal = cascadence::adapters::temporal;

TEST_CASE("payloads of json/plain decode to their values, both forms") {
  const auto standard =
      boost::json::parse(R"({"payloads":[{"metadata":{"encoding":"anNvbi9wbGFpbg=="},"data":"eyJvayI6dHJ1ZX0="}]})");
  const auto values = temporal::decode_payloads(standard);
  REQUIRE(values.size() == 1);
  CHECK(values[0] == boost::json::parse(R"({"ok":true})"));
  CHECK(temporal::decode_payloads(temporal::encode_payloads(values)) == values);
  CHECK(temporal::decode_payloads(boost::json::parse(R"([1,"two"])")).size() == 2);
}

TEST_CASE("a payload of an encoding whose name is not UTF-8 decodes to a string that is") {
  // Found by fuzz_temporal_payloads: the encoding's bytes went into the
  // description as they were, and the JSON written from it was not UTF-8.
  const auto latin1 = temporal::base64_encode("caf\xe9/plain");
  const auto payload = boost::json::parse(R"({"metadata":{"encoding":")" + latin1 + R"("},"data":"AAE="})");
  const auto values = temporal::decode_payloads(payload);
  REQUIRE(values.size() == 1);
  REQUIRE(values[0].is_string());
  CHECK(values[0].get_string() == "<2 bytes of an encoding whose name is not UTF-8>");
  CHECK_FALSE(cascadence::core::invalid_utf8_at(boost::json::serialize(values[0])).has_value());
}

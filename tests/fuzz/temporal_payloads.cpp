// Temporal's payload and failure decoding (adapters/temporal/payloads):
// the input as a JSON document given to decode_payloads() and
// describe_failure() as the client does with the HTTP API's answers, and as
// text to base64_decode() and enum_words(). Checks the round trips:
// base64 and the payload encoding read back what they wrote.

#include "adapters/temporal/payloads.hpp"
#include "fuzz_input.hpp"
#include "net/json.hpp"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <algorithm>
#include <cmath>

using namespace cascadence;
namespace temporal = adapters::temporal;

namespace {

// Boost.JSON reads a number too large for a double (1e999) as infinity and
// writes that as `Infinity`, which is not JSON: no encoding of such a value
// can read back, so the round trip is checked without them.
bool all_finite(const boost::json::value& v) {
  if (const auto* d = v.if_double()) return std::isfinite(*d);
  if (const auto* a = v.if_array()) return std::all_of(a->begin(), a->end(), all_finite);
  if (const auto* o = v.if_object()) {
    return std::all_of(o->begin(), o->end(), [](const auto& kv) { return all_finite(kv.value()); });
  }
  return true;
}

// Equal, but for the last bits of doubles: Boost.JSON 1.81 parses numbers
// fast rather than exactly (7.8E40 written and read back may differ in its
// last place).
bool same(const boost::json::value& a, const boost::json::value& b) {
  if (a.is_double() && b.is_double()) {
    const double x = a.get_double();
    const double y = b.get_double();
    return x == y || std::fabs(x - y) <= 1e-15 * std::max(std::fabs(x), std::fabs(y));
  }
  if (a.is_array() && b.is_array()) {
    const auto& p = a.get_array();
    const auto& q = b.get_array();
    return p.size() == q.size() && std::equal(p.begin(), p.end(), q.begin(), same);
  }
  if (a.is_object() && b.is_object()) {
    const auto& p = a.get_object();
    const auto& q = b.get_object();
    return p.size() == q.size() && std::all_of(p.begin(), p.end(), [&q](const auto& kv) {
             const auto* other = q.if_contains(kv.key());
             return other != nullptr && same(kv.value(), *other);
           });
  }
  return a == b;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const auto text = fuzz::text_of(data, size);
  if (temporal::base64_decode(temporal::base64_encode(text)) != std::string(text))
    fuzz::fail("base64 does not read back");
  (void)temporal::base64_decode(text);
  (void)temporal::enum_words(std::string(text), "RETRY_STATE_");

  auto doc = net::parse_json(text);
  if (!doc) return 0;
  const auto values = temporal::decode_payloads(doc.value());
  (void)temporal::describe_failure(doc.value());
  const auto again = temporal::decode_payloads(temporal::encode_payloads(values));
  if (std::all_of(values.begin(), values.end(), all_finite) &&
      (again.size() != values.size() || !std::equal(values.begin(), values.end(), again.begin(), same))) {
    fuzz::fail("encoded payloads do not decode to their values");
  }
  return 0;
}

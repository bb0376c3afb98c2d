#pragma once

// Field lookups over Temporal's JSON that never copy and never throw: a
// missing key, or one of another type, reads as absent (nullptr, "", {}).
//
// An object passed where a value is expected would convert to a temporary
// value and leave the returned pointer dangling, hence the overloads for
// objects and the deleted one for temporaries.

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <string>
#include <string_view>

namespace cascadence::adapters::temporal::detail {

inline const boost::json::value* member(const boost::json::object& o, std::string_view key) {
  return o.if_contains(key);
}
inline const boost::json::value* member(const boost::json::value& v, std::string_view key) {
  const auto* o = v.if_object();
  return o == nullptr ? nullptr : o->if_contains(key);
}
const boost::json::value* member(boost::json::value&&, std::string_view) = delete;

template <typename Json>
std::string string_at(const Json& v, std::string_view key) {
  const auto* m = member(v, key);
  return m != nullptr && m->is_string() ? std::string(m->get_string()) : std::string();
}

template <typename Json>
const boost::json::object& object_at(const Json& v, std::string_view key) {
  static const boost::json::object empty;
  const auto* m = member(v, key);
  return m != nullptr && m->is_object() ? m->get_object() : empty;
}

}  // namespace cascadence::adapters::temporal::detail

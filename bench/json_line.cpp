#include "bench/json_line.hpp"

#include <cmath>
#include <cstdio>

namespace cascadence::bench {

json_line& json_line::field(std::string_view name, std::string_view value) {
  key(name);
  quoted(value);
  return *this;
}

json_line& json_line::field(std::string_view name, std::uint64_t value) {
  key(name);
  body_ += std::to_string(value);
  return *this;
}

json_line& json_line::field(std::string_view name, double value, int significant) {
  key(name);
  if (!std::isfinite(value)) {
    body_ += "null";
    return *this;
  }
  char buf[32];
  const int n = std::snprintf(buf, sizeof buf, "%.*g", significant, value);
  body_.append(buf, static_cast<std::size_t>(n));
  return *this;
}

std::string json_line::str() const {
  return "{" + body_ + "}";
}

void json_line::key(std::string_view name) {
  if (!body_.empty()) body_ += ',';
  quoted(name);
  body_ += ':';
}

void json_line::quoted(std::string_view text) {
  body_ += '"';
  for (const char c : text) {
    switch (c) {
      case '"':
        body_ += "\\\"";
        break;
      case '\\':
        body_ += "\\\\";
        break;
      case '\n':
        body_ += "\\n";
        break;
      case '\r':
        body_ += "\\r";
        break;
      case '\t':
        body_ += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
          body_ += buf;
        } else {
          body_ += c;
        }
    }
  }
  body_ += '"';
}

}  // namespace cascadence::bench

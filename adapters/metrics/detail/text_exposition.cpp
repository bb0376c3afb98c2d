#include "adapters/metrics/detail/text_exposition.hpp"

#include <array>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <string_view>

namespace cascadence::adapters::metrics::detail {

// printf's "%.16g" (what TextSerializer's ostream precision gives), with
// integers below 1e16, the common case of counters and bucket counts, taken
// the short way: %.16g prints those as plain digits too.
void append_value(std::string& out, double v) {
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

void append_count(std::string& out, std::uint64_t v) {
  std::array<char, 24> buf{};
  const auto r = std::to_chars(buf.data(), buf.data() + buf.size(), v);
  out.append(buf.data(), r.ptr);
}

void append_label_value(std::string& out, std::string_view value) {
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

}  // namespace cascadence::adapters::metrics::detail

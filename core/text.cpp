#include "core/text.hpp"

#include <array>
#include <cstddef>
#include <cstdint>

namespace cascadence::core {

namespace {

/// The length of the well-formed UTF-8 sequence starting at `i`, or 0 when
/// the bytes there are not one; `bad` is then the length of the maximal
/// subpart to replace (at least 1).
std::size_t sequence_at(std::string_view s, std::size_t i, std::size_t& bad) noexcept {
  const auto byte = [&](std::size_t k) { return static_cast<std::uint8_t>(s[k]); };
  const std::uint8_t b0 = byte(i);
  bad = 1;
  if (b0 < 0x80) return 1;
  std::size_t len = 0;
  std::uint8_t lo = 0x80;
  std::uint8_t hi = 0xBF;
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    len = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    len = 3;
    if (b0 == 0xE0) lo = 0xA0;  // no overlong forms
    if (b0 == 0xED) hi = 0x9F;  // no surrogates
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    len = 4;
    if (b0 == 0xF0) lo = 0x90;  // no overlong forms
    if (b0 == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return 0;
  }
  for (std::size_t k = 1; k < len; ++k) {
    if (i + k >= s.size()) return 0;
    const std::uint8_t b = byte(i + k);
    const std::uint8_t first_lo = k == 1 ? lo : std::uint8_t{0x80};
    const std::uint8_t first_hi = k == 1 ? hi : std::uint8_t{0xBF};
    if (b < first_lo || b > first_hi) return 0;
    bad = k + 1;
  }
  return len;
}

void append_hex_byte(std::string& out, const char* prefix, unsigned value) {
  constexpr std::array<char, 16> digits{'0', '1', '2', '3', '4', '5', '6', '7', '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'};
  out += prefix;
  out += digits[(value >> 4U) & 0xFU];
  out += digits[value & 0xFU];
}

bool is_c0_or_del(std::uint8_t b) noexcept {
  return (b < 0x20 && b != '\t') || b == 0x7F;
}

bool is_c1(std::string_view s, std::size_t i) noexcept {
  return static_cast<std::uint8_t>(s[i]) == 0xC2 && i + 1 < s.size() && static_cast<std::uint8_t>(s[i + 1]) >= 0x80 &&
         static_cast<std::uint8_t>(s[i + 1]) <= 0x9F;
}

}  // namespace

std::optional<std::size_t> invalid_utf8_at(std::string_view text) noexcept {
  std::size_t bad = 0;
  for (std::size_t i = 0; i < text.size();) {
    if (static_cast<std::uint8_t>(text[i]) < 0x80) {
      ++i;
      continue;
    }
    const std::size_t n = sequence_at(text, i, bad);
    if (n == 0) return i;
    i += n;
  }
  return std::nullopt;
}

bool is_valid_utf8(std::string_view text) noexcept {
  return !invalid_utf8_at(text).has_value();
}

std::string to_valid_utf8(std::string_view text) {
  if (is_valid_utf8(text)) return std::string(text);
  std::string out;
  out.reserve(text.size() + 8);
  std::size_t bad = 0;
  for (std::size_t i = 0; i < text.size();) {
    const std::size_t n = sequence_at(text, i, bad);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      i += bad;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  return out;
}

bool needs_escaping(std::string_view text) noexcept {
  std::size_t bad = 0;
  for (std::size_t i = 0; i < text.size();) {
    const auto b = static_cast<std::uint8_t>(text[i]);
    if (b < 0x80) {
      if (is_c0_or_del(b)) return true;
      ++i;
      continue;
    }
    const std::size_t n = sequence_at(text, i, bad);
    if (n == 0 || is_c1(text, i)) return true;
    i += n;
  }
  return false;
}

std::string printable(std::string_view text) {
  if (!needs_escaping(text)) return std::string(text);
  std::string out;
  out.reserve(text.size() + 16);
  std::size_t bad = 0;
  for (std::size_t i = 0; i < text.size();) {
    const auto b = static_cast<std::uint8_t>(text[i]);
    if (b < 0x80) {
      if (b == '\n') {
        out += "\\n";
      } else if (b == '\r') {
        out += "\\r";
      } else if (is_c0_or_del(b)) {
        append_hex_byte(out, "\\x", b);
      } else {
        out += static_cast<char>(b);
      }
      ++i;
      continue;
    }
    const std::size_t n = sequence_at(text, i, bad);
    if (n == 0) {
      append_hex_byte(out, "\\x", b);  // one byte at a time: every byte shown
      ++i;
    } else if (is_c1(text, i)) {
      append_hex_byte(out, "\\u00", static_cast<std::uint8_t>(text[i + 1]));
      i += n;
    } else {
      out.append(text.substr(i, n));
      i += n;
    }
  }
  return out;
}

}  // namespace cascadence::core

#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace cascadence::bench {

/// Builds one JSON object on a single line, fields in the order added.
/// Non-finite numbers are written as null so the line always parses.
class json_line final {
 public:
  /// Adds a string field (escaped as JSON requires).
  json_line& field(std::string_view key, std::string_view value);
  /// Adds an unsigned integer field.
  json_line& field(std::string_view key, std::uint64_t value);
  /// Adds a number with at most `significant` significant digits.
  json_line& field(std::string_view key, double value, int significant = 6);

  /// The finished object, without a trailing newline.
  [[nodiscard]] std::string str() const;

 private:
  void key(std::string_view name);
  void quoted(std::string_view text);

  std::string body_;
};

}  // namespace cascadence::bench

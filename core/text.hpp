#pragma once

// Text that came from outside (a request, a file, a task's output) on its
// way to a log line, a terminal or a JSON document.

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace cascadence::core {

/// Where `text` stops being UTF-8 (RFC 3629: no overlong forms, no
/// surrogates, nothing above U+10FFFF): the offset of the first byte that
/// does not start a whole, valid sequence; nothing when all of it is UTF-8.
[[nodiscard]] std::optional<std::size_t> invalid_utf8_at(std::string_view text) noexcept;

/// Whether `text` is well-formed UTF-8 (invalid_utf8_at() finds nothing).
[[nodiscard]] bool is_valid_utf8(std::string_view text) noexcept;

/// `text` with every ill-formed UTF-8 sequence replaced by U+FFFD, one per
/// maximal invalid subpart as Unicode recommends; well-formed text unchanged.
[[nodiscard]] std::string to_valid_utf8(std::string_view text);

/// `text` safe to echo on one line of a log or a terminal: control
/// characters (C0 but tab, DEL, C1) written as escapes (`\n`, `\r`, `\x1b`,
/// `\u009b`), and bytes that are not UTF-8 as `\xff`. A newline in
/// input therefore never starts a line of its own, and an escape sequence
/// never reaches the terminal. Printable text, tabs included, is unchanged.
[[nodiscard]] std::string printable(std::string_view text);

/// Whether printable(text) would change `text`.
[[nodiscard]] bool needs_escaping(std::string_view text) noexcept;

}  // namespace cascadence::core

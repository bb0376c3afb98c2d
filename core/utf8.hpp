#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace cascadence::core {

/// Where `text` stops being UTF-8 (RFC 3629: no overlong forms, no
/// surrogates, nothing above U+10FFFF): the offset of the first byte that
/// does not start a whole, valid sequence; nothing when all of it is UTF-8.
[[nodiscard]] std::optional<std::size_t> invalid_utf8_at(std::string_view text) noexcept;

}  // namespace cascadence::core

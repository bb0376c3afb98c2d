#pragma once

// Message authentication for webhooks: HMAC-SHA256 and a comparison whose
// time does not depend on where two signatures differ.

#include <string>
#include <string_view>

namespace cascadence::net {

/// HMAC-SHA256 of `message` under `key`, as 64 lowercase hex digits.
[[nodiscard]] std::string hmac_sha256_hex(std::string_view key, std::string_view message);

/// True when `a` equals `b`. For equal lengths the time taken does not
/// depend on the contents; lengths are not secret (hex digests have one).
[[nodiscard]] bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

}  // namespace cascadence::net

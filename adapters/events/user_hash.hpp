#pragma once

#include <string>
#include <string_view>

namespace cascadence::adapters::events {

/// The seed's hashed user id: lowercase hex of SHA-256(secret + user_id),
/// byte for byte (the secret is a prefix, not an HMAC key; an empty secret
/// hashes the plain id). The clear id is never stored or sent: callers
/// hash it where it enters (the CLI's --user-id, the API's
/// X-Cascadence-User-Id header, a webhook payload's pointer) and carry only
/// this.
[[nodiscard]] std::string hash_user_id(std::string_view user_id, std::string_view secret);

/// hash_user_id() with $CASCADENCE_HASH_SECRET (unset: empty).
[[nodiscard]] std::string hash_user_id(std::string_view user_id);

}  // namespace cascadence::adapters::events

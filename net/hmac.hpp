#pragma once

// Message authentication for webhooks: HMAC-SHA256 and a comparison whose
// time does not depend on where two signatures differ.

#include <array>
#include <memory>
#include <string>
#include <string_view>

namespace cascadence::net {

/// HMAC-SHA256 of `message` under `key`, as 64 lowercase hex digits.
[[nodiscard]] std::string hmac_sha256_hex(std::string_view key, std::string_view message);

/// True when `a` equals `b`. For equal lengths the time taken does not
/// depend on the contents; lengths are not secret (hex digests have one).
[[nodiscard]] bool constant_time_equal(std::string_view a, std::string_view b) noexcept;

/// HMAC-SHA256 under one key, prepared once: the key is hashed into the
/// inner and outer states at construction, not per message, and signing
/// allocates nothing (hmac_sha256_hex pays OpenSSL's lookups, allocations
/// and the key schedule on every call). Thread-safe; not copyable.
class hmac_sha256 final {
 public:
  using digest = std::array<unsigned char, 32>;

  /// Prepares `key` (any length, empty included). Throws std::runtime_error
  /// when OpenSSL fails.
  explicit hmac_sha256(std::string_view key);
  ~hmac_sha256();
  hmac_sha256(hmac_sha256&&) noexcept;
  hmac_sha256& operator=(hmac_sha256&&) noexcept;
  hmac_sha256(const hmac_sha256&) = delete;
  hmac_sha256& operator=(const hmac_sha256&) = delete;

  /// The MAC of `message`.
  [[nodiscard]] digest sign(std::string_view message) const;
  /// The MAC of `message` as 64 lowercase hex digits.
  [[nodiscard]] std::string sign_hex(std::string_view message) const;
  /// True when `hex_digest` (64 hex digits, either case) is the MAC of
  /// `message`. The digests are compared in constant time; a malformed
  /// `hex_digest` is refused at once (its shape is not secret).
  [[nodiscard]] bool verify_hex(std::string_view message, std::string_view hex_digest) const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace cascadence::net

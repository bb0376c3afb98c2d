#include "net/hmac.hpp"

// hmac_sha256 keeps SHA-256 states that have absorbed the padded key and
// copies them by value per message. OpenSSL 3 offers that only through the
// low-level SHA256_* functions, deprecated in 3.0 but present in every 3.x
// release: its EVP interfaces allocate a provider context on every copy or
// re-initialisation (EVP_MD_CTX_copy_ex, EVP_MAC_init), which cost about
// 1.7 us per webhook request (4% of the server's CPU) on the development
// machine. The one-shot hmac_sha256_hex() uses HMAC() as before.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <algorithm>
#include <array>
#include <stdexcept>

namespace cascadence::net {

namespace {

constexpr char hex_digits[] = "0123456789abcdef";

// OpenSSL wants a non-null key pointer even for an empty key.
constexpr unsigned char no_key = 0;

std::string to_hex(const unsigned char* bytes, std::size_t length) {
  std::string hex;
  hex.reserve(2 * length);
  for (std::size_t i = 0; i < length; ++i) {
    hex.push_back(hex_digits[bytes[i] >> 4]);
    hex.push_back(hex_digits[bytes[i] & 0x0f]);
  }
  return hex;
}

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string hmac_sha256_hex(std::string_view key, std::string_view message) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  const void* key_data = key.empty() ? static_cast<const void*>(&no_key) : key.data();
  if (HMAC(EVP_sha256(), key_data, static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(message.data()),
           message.size(), digest.data(), &length) == nullptr) {
    throw std::runtime_error("HMAC-SHA256 failed in OpenSSL");
  }
  return to_hex(digest.data(), length);
}

bool constant_time_equal(std::string_view a, std::string_view b) noexcept {
  if (a.size() != b.size()) return false;
  return a.empty() || CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

// HMAC (RFC 2104) with the key's inner and outer blocks hashed once.
struct hmac_sha256::impl final {
  SHA256_CTX inner{};
  SHA256_CTX outer{};

  impl() = default;
  impl(const impl&) = delete;
  impl& operator=(const impl&) = delete;
  ~impl() {
    OPENSSL_cleanse(&inner, sizeof inner);
    OPENSSL_cleanse(&outer, sizeof outer);
  }
};

hmac_sha256::hmac_sha256(std::string_view key) : impl_(std::make_unique<impl>()) {
  std::array<unsigned char, SHA256_CBLOCK> block{};
  if (key.size() > block.size()) {
    SHA256(reinterpret_cast<const unsigned char*>(key.data()), key.size(), block.data());  // long keys are hashed
  } else {
    std::copy(key.begin(), key.end(), block.begin());
  }
  std::array<unsigned char, SHA256_CBLOCK> pad{};
  std::transform(block.begin(), block.end(), pad.begin(), [](unsigned char b) { return b ^ 0x36; });
  bool ok = SHA256_Init(&impl_->inner) == 1 && SHA256_Update(&impl_->inner, pad.data(), pad.size()) == 1;
  std::transform(block.begin(), block.end(), pad.begin(), [](unsigned char b) { return b ^ 0x5c; });
  ok = ok && SHA256_Init(&impl_->outer) == 1 && SHA256_Update(&impl_->outer, pad.data(), pad.size()) == 1;
  OPENSSL_cleanse(block.data(), block.size());
  OPENSSL_cleanse(pad.data(), pad.size());
  if (!ok) throw std::runtime_error("SHA-256 failed in OpenSSL");
}

hmac_sha256::~hmac_sha256() = default;
hmac_sha256::hmac_sha256(hmac_sha256&&) noexcept = default;
hmac_sha256& hmac_sha256::operator=(hmac_sha256&&) noexcept = default;

hmac_sha256::digest hmac_sha256::sign(std::string_view message) const {
  digest inner_digest{};
  digest out{};
  SHA256_CTX ctx = impl_->inner;
  bool ok = SHA256_Update(&ctx, message.data(), message.size()) == 1 && SHA256_Final(inner_digest.data(), &ctx) == 1;
  ctx = impl_->outer;
  ok = ok && SHA256_Update(&ctx, inner_digest.data(), inner_digest.size()) == 1 && SHA256_Final(out.data(), &ctx) == 1;
  OPENSSL_cleanse(&ctx, sizeof ctx);
  if (!ok) throw std::runtime_error("SHA-256 failed in OpenSSL");
  return out;
}

std::string hmac_sha256::sign_hex(std::string_view message) const {
  const auto mac = sign(message);
  return to_hex(mac.data(), mac.size());
}

bool hmac_sha256::verify_hex(std::string_view message, std::string_view hex_digest) const {
  digest given{};
  if (hex_digest.size() != 2 * given.size()) return false;
  for (std::size_t i = 0; i < given.size(); ++i) {
    const int high = hex_value(hex_digest[2 * i]);
    const int low = hex_value(hex_digest[2 * i + 1]);
    if (high < 0 || low < 0) return false;
    given[i] = static_cast<unsigned char>(high << 4 | low);
  }
  const auto actual = sign(message);
  return CRYPTO_memcmp(actual.data(), given.data(), given.size()) == 0;
}

}  // namespace cascadence::net

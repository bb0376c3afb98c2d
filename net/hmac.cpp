#include "net/hmac.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/params.h>

#include <array>
#include <mutex>
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

// Fetched once: OpenSSL 3 looks algorithms up in its provider tables (under
// a lock) on every implicit use. Lives as long as the process.
EVP_MAC* hmac_algorithm() {
  static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, OSSL_MAC_NAME_HMAC, nullptr);
  return mac;
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

struct hmac_sha256::impl final {
  // Keyed once; each message re-initialises it from the stored key (cheap:
  // OpenSSL copies the prepared inner and outer digest states).
  EVP_MAC_CTX* ctx = nullptr;
  std::mutex mutex;

  impl() = default;
  impl(const impl&) = delete;
  impl& operator=(const impl&) = delete;
  ~impl() { EVP_MAC_CTX_free(ctx); }
};

hmac_sha256::hmac_sha256(std::string_view key) : impl_(std::make_unique<impl>()) {
  auto* mac = hmac_algorithm();
  if (mac != nullptr) impl_->ctx = EVP_MAC_CTX_new(mac);
  char digest_name[] = "SHA256";
  const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest_name, 0),
                               OSSL_PARAM_construct_end()};
  const auto* key_data = key.empty() ? &no_key : reinterpret_cast<const unsigned char*>(key.data());
  if (impl_->ctx == nullptr || EVP_MAC_init(impl_->ctx, key_data, key.size(), params) != 1) {
    throw std::runtime_error("HMAC-SHA256 is not available from OpenSSL");
  }
}

hmac_sha256::~hmac_sha256() = default;
hmac_sha256::hmac_sha256(hmac_sha256&&) noexcept = default;
hmac_sha256& hmac_sha256::operator=(hmac_sha256&&) noexcept = default;

hmac_sha256::digest hmac_sha256::sign(std::string_view message) const {
  digest out{};
  std::size_t length = 0;
  const std::lock_guard lock(impl_->mutex);
  if (EVP_MAC_init(impl_->ctx, nullptr, 0, nullptr) != 1 ||
      EVP_MAC_update(impl_->ctx, reinterpret_cast<const unsigned char*>(message.data()), message.size()) != 1 ||
      EVP_MAC_final(impl_->ctx, out.data(), &length, out.size()) != 1 || length != out.size()) {
    throw std::runtime_error("HMAC-SHA256 failed in OpenSSL");
  }
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

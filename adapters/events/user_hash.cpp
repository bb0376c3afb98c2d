#include "adapters/events/user_hash.hpp"

#include <openssl/evp.h>

#include <array>
#include <cstdlib>
#include <memory>
#include <stdexcept>

namespace cascadence::adapters::events {

std::string hash_user_id(std::string_view user_id, std::string_view secret) {
  const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int size = 0;
  if (!ctx || EVP_DigestInit_ex(ctx.get(), EVP_sha256(), nullptr) != 1 ||
      EVP_DigestUpdate(ctx.get(), secret.data(), secret.size()) != 1 ||
      EVP_DigestUpdate(ctx.get(), user_id.data(), user_id.size()) != 1 ||
      EVP_DigestFinal_ex(ctx.get(), digest.data(), &size) != 1) {
    throw std::runtime_error("SHA-256 is not available from OpenSSL");
  }
  static constexpr std::string_view hex = "0123456789abcdef";
  std::string out;
  out.reserve(2 * size);
  for (unsigned int i = 0; i < size; ++i) {
    out += hex[digest[i] >> 4U];
    out += hex[digest[i] & 0xFU];
  }
  return out;
}

std::string hash_user_id(std::string_view user_id) {
  const char* secret = std::getenv("CASCADENCE_HASH_SECRET");  // NOLINT(concurrency-mt-unsafe): read, never set
  return hash_user_id(user_id, secret != nullptr ? std::string_view(secret) : std::string_view());
}

}  // namespace cascadence::adapters::events

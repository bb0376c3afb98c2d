#include "net/hmac.hpp"

#include <doctest/doctest.h>

#include <string>

using namespace cascadence::net;

namespace {
std::string bytes(std::size_t n, unsigned char c) {
  return std::string(n, static_cast<char>(c));
}
}  // namespace

// RFC 4231 section 4: HMAC-SHA-256 test cases 1 to 7.
TEST_CASE("HMAC-SHA256 matches the RFC 4231 test vectors") {
  CHECK(hmac_sha256_hex(bytes(20, 0x0b), "Hi There") ==
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  CHECK(hmac_sha256_hex("Jefe", "what do ya want for nothing?") ==
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  CHECK(hmac_sha256_hex(bytes(20, 0xaa), bytes(50, 0xdd)) ==
        "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe");
  std::string key4;
  for (unsigned char c = 0x01; c <= 0x19; ++c) key4.push_back(static_cast<char>(c));
  CHECK(hmac_sha256_hex(key4, bytes(50, 0xcd)) == "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b");
  // Test case 5 specifies only the first 128 bits of the output.
  CHECK(hmac_sha256_hex(bytes(20, 0x0c), "Test With Truncation").substr(0, 32) == "a3b6167473100ee06e0c796c2955552b");
  CHECK(hmac_sha256_hex(bytes(131, 0xaa), "Test Using Larger Than Block-Size Key - Hash Key First") ==
        "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54");
  CHECK(hmac_sha256_hex(bytes(131, 0xaa),
                        "This is a test using a larger than block-size key and a larger than block-size data. The "
                        "key needs to be hashed before being used by the HMAC algorithm.") ==
        "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2");
}

TEST_CASE("an empty key and an empty message are valid HMAC inputs") {
  const auto mac = hmac_sha256_hex("", "");
  CHECK(mac.size() == 64);
  CHECK(mac == hmac_sha256_hex(std::string(), std::string()));
}

TEST_CASE("constant-time comparison tells equal from different strings") {
  const auto mac = hmac_sha256_hex("secret", "payload");
  CHECK(constant_time_equal(mac, hmac_sha256_hex("secret", "payload")));
  CHECK_FALSE(constant_time_equal(mac, hmac_sha256_hex("secret", "payload!")));
  CHECK_FALSE(constant_time_equal(mac, mac.substr(0, 63)));
  CHECK_FALSE(constant_time_equal("abc", "abd"));
  CHECK(constant_time_equal("", ""));
}

TEST_CASE("a prepared key signs as the one-shot function does, message after message") {
  std::string key4;
  for (unsigned char c = 0x01; c <= 0x19; ++c) key4.push_back(static_cast<char>(c));
  for (const auto& key : {std::string(), bytes(20, 0x0b), std::string("Jefe"), key4, bytes(131, 0xaa)}) {
    const hmac_sha256 mac(key);
    for (const auto& message : {std::string(), std::string("Hi There"), bytes(50, 0xdd), bytes(1024, 'x')}) {
      CHECK(mac.sign_hex(message) == hmac_sha256_hex(key, message));
    }
  }
  CHECK(hmac_sha256(bytes(20, 0x0b)).sign_hex("Hi There") ==
        "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
}

TEST_CASE("a prepared key verifies hex digests in either case and refuses anything else") {
  const hmac_sha256 mac("secret");
  const auto good = hmac_sha256_hex("secret", "payload");
  std::string upper = good;
  for (auto& c : upper) c = (c >= 'a' && c <= 'f') ? static_cast<char>(c - 'a' + 'A') : c;
  CHECK(mac.verify_hex("payload", good));
  CHECK(mac.verify_hex("payload", upper));
  CHECK_FALSE(mac.verify_hex("payload!", good));
  CHECK_FALSE(mac.verify_hex("payload", hmac_sha256_hex("other", "payload")));
  CHECK_FALSE(mac.verify_hex("payload", good.substr(0, 63)));
  CHECK_FALSE(mac.verify_hex("payload", good + "0"));
  CHECK_FALSE(mac.verify_hex("payload", ""));
  std::string not_hex = good;
  not_hex[10] = 'g';
  CHECK_FALSE(mac.verify_hex("payload", not_hex));
}

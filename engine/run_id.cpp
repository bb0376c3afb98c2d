#include "engine/run_id.hpp"

#include <bit>
#include <cstring>
#include <random>

namespace cascadence::engine {

namespace {

// splitmix64: a small, fast generator; quality is ample for identifiers.
struct splitmix64 {
  std::uint64_t state;
  std::uint64_t next() noexcept {
    std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30U)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27U)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31U);
  }
};

splitmix64& thread_generator() {
  thread_local splitmix64 gen{[] {
    std::random_device rd;
    return (static_cast<std::uint64_t>(rd()) << 32U) ^ rd();
  }()};
  return gen;
}

// Big-endian, so the UUID text reads hi then lo.
void store(std::array<std::uint8_t, 16>& bytes, std::uint64_t hi, std::uint64_t lo) noexcept {
  if constexpr (std::endian::native == std::endian::little) {
    hi = __builtin_bswap64(hi);
    lo = __builtin_bswap64(lo);
    std::memcpy(bytes.data(), &hi, 8);
    std::memcpy(bytes.data() + 8, &lo, 8);
  } else {
    for (int i = 0; i < 8; ++i) {
      bytes[static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(hi >> (56 - 8 * i));
      bytes[8 + static_cast<std::size_t>(i)] = static_cast<std::uint8_t>(lo >> (56 - 8 * i));
    }
  }
}

void set_version(std::array<std::uint8_t, 16>& bytes, std::uint8_t version) noexcept {
  bytes[6] = static_cast<std::uint8_t>((bytes[6] & 0x0fU) | (version << 4U));
  bytes[8] = static_cast<std::uint8_t>((bytes[8] & 0x3fU) | 0x80U);  // RFC 9562 variant
}

}  // namespace

run_id run_id::random() noexcept {
  auto& gen = thread_generator();
  run_id id;
  store(id.bytes, gen.next(), gen.next());
  set_version(id.bytes, 4);
  return id;
}

run_id run_id::derived(std::string_view text) noexcept {
  // Two independent 64-bit FNV-1a lanes, each finished with splitmix's
  // avalanche, give 128 well-mixed bits.
  std::uint64_t a = 0xcbf29ce484222325ULL;
  std::uint64_t b = 0x84222325cbf29ce4ULL;
  for (unsigned char c : text) {
    a = (a ^ c) * 0x100000001b3ULL;
    b = (b ^ static_cast<unsigned char>(c + 0x5bU)) * 0x100000001b3ULL;
  }
  run_id id;
  store(id.bytes, splitmix64{a}.next(), splitmix64{b ^ text.size()}.next());
  set_version(id.bytes, 8);
  return id;
}

std::string run_id::to_string() const {
  std::string out;
  append_to(out);
  return out;
}

void run_id::append_to(std::string& out) const {
  static constexpr char hex[] = "0123456789abcdef";
  const auto at = out.size();
  out.resize(at + 36);
  char* p = out.data() + at;
  for (std::size_t i = 0; i < bytes.size(); ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) *p++ = '-';
    *p++ = hex[bytes[i] >> 4U];
    *p++ = hex[bytes[i] & 0x0fU];
  }
}

}  // namespace cascadence::engine

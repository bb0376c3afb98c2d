#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>

namespace cascadence::engine {

/// A 128-bit run identifier printed as a UUID (version 4 for random ids,
/// version 8 for ids derived from a name, so the same input gives the same id).
struct run_id final {
  std::array<std::uint8_t, 16> bytes{};

  /// A random version-4 UUID from a fast per-thread generator seeded by the OS.
  [[nodiscard]] static run_id random() noexcept;
  /// A deterministic version-8 UUID from a 128-bit hash of `text`; the same
  /// text gives the same id in every process and on every platform.
  [[nodiscard]] static run_id derived(std::string_view text) noexcept;

  /// The canonical 36-character lower-case form.
  [[nodiscard]] std::string to_string() const;
  /// Appends the canonical form to `out` (no allocation when it has room).
  void append_to(std::string& out) const;

  friend bool operator==(const run_id&, const run_id&) = default;
};

}  // namespace cascadence::engine

#pragma once

// What the fuzz targets share: the input as text, split into parts, and a
// scratch directory of this process for readers that only take a path.

#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace cascadence::fuzz {

/// The fuzzer's bytes as text.
inline std::string_view text_of(const std::uint8_t* data, std::size_t size) noexcept {
  return {reinterpret_cast<const char*>(data), size};
}

/// `text` cut at every `separator` (the seed files use a line of their own).
inline std::vector<std::string_view> split(std::string_view text, std::string_view separator) {
  std::vector<std::string_view> parts;
  for (;;) {
    const auto at = text.find(separator);
    parts.push_back(text.substr(0, at));
    if (at == std::string_view::npos) return parts;
    text.remove_prefix(at + separator.size());
  }
}

/// Reports a broken promise of the code under test and crashes, so that
/// libFuzzer saves the input: `what` names the promise, `detail` shows
/// what was found instead.
[[noreturn]] inline void fail(std::string_view what, std::string_view detail = {}) {
  std::cerr << "fuzz target: " << what << "\n" << detail << (detail.empty() ? "" : "\n") << std::flush;
  std::abort();
}

/// A directory of this process's own, removed at exit (libFuzzer ends some
/// runs without exit handlers: scripts/fuzz points $CASCADENCE_FUZZ_SCRATCH
/// at a directory it removes itself). Else on tmpfs when /dev/shm exists.
inline const std::filesystem::path& scratch_dir() {
  static const std::filesystem::path dir = [] {
    std::error_code ec;
    const char* given = std::getenv("CASCADENCE_FUZZ_SCRATCH");
    const std::filesystem::path shm = "/dev/shm";
    const auto base = given != nullptr && *given != '\0'       ? std::filesystem::path(given)
                      : std::filesystem::is_directory(shm, ec) ? shm
                                                               : std::filesystem::temp_directory_path();
    auto d = base / ("cascadence-fuzz-" + std::to_string(::getpid()));
    std::filesystem::create_directories(d);
    std::atexit([] {
      std::error_code ignored;
      std::filesystem::remove_all(scratch_dir(), ignored);
    });
    return d;
  }();
  return dir;
}

/// Writes `text` to `file`, replacing it.
inline void write_file(const std::filesystem::path& file, std::string_view text) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  out.write(text.data(), static_cast<std::streamsize>(text.size()));
}

}  // namespace cascadence::fuzz

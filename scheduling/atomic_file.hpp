#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace cascadence::scheduling {

/// Replaces `path` with `contents` so that a crash at any instant leaves the
/// old file or the new one, never a torn one: write a temporary file in the
/// same directory, fsync it, rename it over `path`, fsync the directory.
/// Throws std::system_error naming the path on failure (the old file stays).
void write_file_atomically(const std::filesystem::path& path, std::string_view contents);

/// What a replace waits for before it returns.
enum class durability : std::uint8_t {
  /// fsync the data and the directory: survives a machine crash.
  synced,
  /// Write and rename only: survives the process being killed at any
  /// instant (old or new file, never torn); call sync_file() afterwards to
  /// make it survive a machine crash too.
  process_crash,
};

/// write_file_atomically() with the durability chosen by the caller.
void write_file_atomically(const std::filesystem::path& path, std::string_view contents, durability d);

/// Writes `contents` over the start of `path` (created when missing) and cuts
/// off what is left of longer old contents. Not atomic: a crash may leave a
/// mix of old and new bytes, so only for files whose readers detect that (a
/// checksum). Costs no rename, which on ext4 flushes the replaced file.
void overwrite_file(const std::filesystem::path& path, std::string_view contents, durability d);

/// fsyncs `path` and its directory (after a process_crash-durable replace).
void sync_file(const std::filesystem::path& path);

/// The whole file, or nullopt when it does not exist. Throws on other errors.
[[nodiscard]] std::optional<std::string> read_file_if_exists(const std::filesystem::path& path);

/// An exclusive advisory lock (flock) on `<path>.lock`, held for the
/// object's lifetime, so read-modify-write cycles of several processes on
/// one state file do not lose each other's updates.
class file_lock final {
 public:
  explicit file_lock(const std::filesystem::path& path);
  ~file_lock();
  file_lock(const file_lock&) = delete;
  file_lock& operator=(const file_lock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace cascadence::scheduling

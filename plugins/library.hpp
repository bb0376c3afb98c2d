#pragma once

#include "core/result.hpp"
#include "plugins/cascadence_plugin.h"

#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace cascadence::plugins {

/// One processor a plugin offers, from its descriptor JSON.
struct processor_descriptor final {
  std::uint32_t index = 0;  ///< index in the plugin's table
  std::string name;         ///< "acme.http_probe"
  std::string description;
  bool blocking = false;   ///< the host calls start() on the pool
  bool immediate = false;  ///< start() completes before it returns: an in-process host runs it inline
};

/// The plugin's info JSON and its processors, checked.
struct plugin_descriptor final {
  std::string name, version, runtime /* c|cpp|rust|go */, description;
  bool unload_safe = false;
  unsigned abi_major = 0, abi_minor = 0;
  std::vector<processor_descriptor> processors;
};

/// A plugin file that passed the safety checks and was copied to the content-addressed cache.
struct plugin_file final {
  std::filesystem::path path;    ///< as configured / found (absolute)
  std::filesystem::path cached;  ///< <cache>/<sha256>.so
  std::string sha256;            ///< hex
};

/// Refuses world-writable files or directories (the file and its directory) and files owned by another
/// user than geteuid(); hashes, copies to `cache_dir/<sha256>.so` (atomic: temp + rename; never overwrites a
/// file that exists with the same name). Error: one line naming the path and the reason.
[[nodiscard]] core::result<plugin_file, std::string> stage(const std::filesystem::path& path,
                                                           const std::filesystem::path& cache_dir);

/// The default cache directory: $CASCADENCE_HOME/plugin-cache, else $XDG_CACHE_HOME/cascadence/plugins,
/// else ~/.cache/cascadence/plugins.
[[nodiscard]] std::filesystem::path default_cache_dir();

/// True when the file is a Go binary (contains Go's build-info magic): Go plugins default to isolation.
[[nodiscard]] bool is_go_binary(const std::filesystem::path& path);

/// True when `name` follows the header's rule for processor names: [A-Za-z0-9_] first, then
/// [A-Za-z0-9_.-], at most 128 bytes.
[[nodiscard]] bool valid_processor_name(std::string_view name) noexcept;

/// Parses and checks a plugin's info JSON and its processor descriptors (what library::open() and the plugin
/// host process both do). Error: the reason, e.g. "info is not JSON (...)", "processor 1: no \"name\"".
[[nodiscard]] core::result<plugin_descriptor, std::string> parse_descriptor(
    std::string_view info, const std::vector<std::string_view>& processor_descriptors);

/// Writes one plugin log line (a '\n' is added) to `out`, std::cerr when null, whole and flushed: the one lock
/// every plugin host in this process shares, so lines of in-process and isolated plugins never interleave.
/// Any thread.
void write_log_line(std::ostream* out, std::string_view line);

/// "OK", "INVALID_ARGUMENT", ...; empty for a code the header does not define.
[[nodiscard]] std::string_view status_name(cascadence_status_t status) noexcept;
/// status_name(), or "status N" for an unknown code.
[[nodiscard]] std::string describe_status(cascadence_status_t status);

/// A dlopen'ed (RTLD_NOW|RTLD_LOCAL) plugin whose entry, ABI version, info and every descriptor were checked
/// and whose init() succeeded with `host`. Never dlclose'd unless unload_safe (leaks the mapping by default).
class library final {
 public:
  /// `host` must outlive the library. Error: "<path>: <reason>", e.g. "missing entry symbol
  /// cascadence_plugin_entry", "ABI major 2, this host speaks 1", "processor 1: descriptor is not JSON (...)".
  [[nodiscard]] static core::result<std::shared_ptr<library>, std::string> open(const plugin_file& file,
                                                                                const cascadence_host_t& host);

  library(const library&) = delete;
  library& operator=(const library&) = delete;
  ~library();  ///< deinit(); dlclose only when unload_safe

  [[nodiscard]] const plugin_file& file() const noexcept { return file_; }
  [[nodiscard]] const plugin_descriptor& descriptor() const noexcept { return descriptor_; }
  [[nodiscard]] const cascadence_plugin_t& api() const noexcept { return api_; }

 private:
  library() = default;

  plugin_file file_;
  plugin_descriptor descriptor_;
  // A copy of the plugin's table, zero past its struct_size: members a smaller (older) table lacks are NULL.
  cascadence_plugin_t api_{};
  void (*deinit_)() = nullptr;
  void* handle_ = nullptr;
};

}  // namespace cascadence::plugins

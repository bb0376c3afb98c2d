#pragma once

#include "plugins/provider.hpp"

#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace boost::asio {
class thread_pool;
}

namespace cascadence::plugins {

/// Where to look for plugins: a file, or a directory whose every *.so is one.
struct plugin_source final {
  std::filesystem::path path;
  /// Unset: in_process, except Go binaries, which default to process.
  std::optional<plugins::isolation> isolation;
  /// Where the source was named, for error lines: "cascadence.yaml:4:5", "CASCADENCE_PLUGIN_PATH".
  std::string origin;
};

/// The sources $CASCADENCE_PLUGIN_PATH names (colon-separated directories; empty entries skipped).
[[nodiscard]] std::vector<plugin_source> sources_from_environment();

/// A processor name resolved to the plugin that offers it.
struct registered_processor final {
  std::shared_ptr<plugins::provider> provider;
  processor_descriptor descriptor;
};

/// An immutable snapshot of the loaded plugins. Shared (std::shared_ptr<const registry>) and swapped whole
/// on reload; processors made from it keep their provider, and so the plugin's code, alive.
class registry final {
 public:
  registry() = default;
  registry(std::vector<std::shared_ptr<provider>> providers,
           std::map<std::string, registered_processor, std::less<>> processors,
           std::vector<std::filesystem::path> directories)
      : providers_(std::move(providers)), processors_(std::move(processors)), directories_(std::move(directories)) {}

  /// The processor called `name`, or null.
  [[nodiscard]] const registered_processor* find(std::string_view name) const noexcept;
  /// Every loaded plugin, in load order.
  [[nodiscard]] const std::vector<std::shared_ptr<provider>>& providers() const noexcept { return providers_; }
  /// Every processor by name.
  [[nodiscard]] const std::map<std::string, registered_processor, std::less<>>& processors() const noexcept {
    return processors_;
  }
  /// The directories the sources name or contain their files (what a hot reload watches).
  [[nodiscard]] const std::vector<std::filesystem::path>& directories() const noexcept { return directories_; }
  [[nodiscard]] bool empty() const noexcept { return providers_.empty(); }

 private:
  std::vector<std::shared_ptr<provider>> providers_;
  std::map<std::string, registered_processor, std::less<>> processors_;
  std::vector<std::filesystem::path> directories_;
};

/// How load_plugins() loads.
struct load_options final {
  /// Where stage() copies plugin files; empty: default_cache_dir().
  std::filesystem::path cache_dir;
  /// Backs the "cascadence.executor/1" extension of in-process plugins; null: the extension is absent.
  boost::asio::thread_pool* pool = nullptr;
  /// Plugin log lines and the host's own warnings; null: std::cerr.
  std::ostream* log = nullptr;
  /// The plugin host program for isolation: process; empty: isolated_options' default.
  std::filesystem::path host_program;
  /// The registry in force: a plugin whose file (path and sha256) did not change is kept as it is, not loaded
  /// again.
  std::shared_ptr<const registry> previous;
};

/// What load_plugins() gives: the snapshot of what loaded, and one line per plugin that did not ("<path>:
/// <reason>").
struct load_result final {
  std::shared_ptr<const registry> plugins;
  std::vector<std::string> errors;
};

/// Stages, opens and checks every plugin the sources name. A plugin that fails is reported and skipped; the
/// others still load. A processor name already taken refuses the second plugin, naming both paths.
[[nodiscard]] load_result load_plugins(const std::vector<plugin_source>& sources, const load_options& options);

/// One difference between two snapshots, for reload logs and the reload route's answer.
struct plugin_change final {
  enum class kind : std::uint8_t { added, removed, reloaded };
  kind what = kind::added;
  std::string name;
  std::filesystem::path path;
  std::string old_sha256, new_sha256;  ///< empty where absent
};

/// "added" / "removed" / "reloaded".
[[nodiscard]] std::string_view to_string(plugin_change::kind value) noexcept;

/// What changed from `before` to `after`, plugins matched by path.
[[nodiscard]] std::vector<plugin_change> diff(const registry& before, const registry& after);

/// The log line of a change: "plugins: reloaded acme (sha256 ab12cd34 -> 56ef7890)".
[[nodiscard]] std::string describe(const plugin_change& change);

}  // namespace cascadence::plugins

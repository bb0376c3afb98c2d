#pragma once

#include "core/result.hpp"
#include "plugins/provider.hpp"

#include <filesystem>
#include <memory>
#include <ostream>
#include <string>

namespace cascadence::plugins {

/// How an isolated provider runs its plugin host process.
struct isolated_options final {
  /// cascadence-plugin-host; empty: $CASCADENCE_PLUGIN_HOST, else the one beside the running executable.
  std::filesystem::path host_program;
  /// The plugin's log lines and its host process's standard error, with its name in front; null: std::cerr.
  std::ostream* log = nullptr;
};

/// Starts a plugin host process for `file.cached`, reads its descriptor, and returns a provider whose
/// processors run there; each attempt's output and end reach the loop the attempt runs on. Error: one line
/// (the host's own error when the plugin does not load).
[[nodiscard]] core::result<std::shared_ptr<provider>, std::string> make_isolated_provider(const plugin_file& file,
                                                                                          isolated_options options);

}  // namespace cascadence::plugins

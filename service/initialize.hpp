#pragma once

// The seed's initialize(): one call that reads the configuration (backend
// included), discovers the remote plugin server's tasks, loads the native
// plugins and builds the graph, so that a host can run that graph on its own
// io_context (engine::run_graph) or serve it (service::runtime). `task`
// itself starts every command this way.

#include "service/config.hpp"

#include <filesystem>
#include <functional>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace boost::asio {
class thread_pool;
}
namespace cascadence::engine {
class graph;
}
namespace cascadence::plugins {
class registry;
}

namespace cascadence::service {

class remote_tasks;

struct initialize_options final {
  /// As `--config`: else $CASCADENCE_CONFIG, ./cascadence.yml, the built-in default.
  std::optional<std::filesystem::path> config_path;
  /// Told what did not come up, one line each: an unreachable remote server
  /// (its tasks then fail fast), a plugin that did not load. Null: dropped.
  std::function<void(const std::string&)> warn;
  /// Plugins' own log lines; null: std::cerr.
  std::ostream* plugin_log = nullptr;
  /// The host's pool, when it has one already: it backs the
  /// "cascadence.executor/1" extension of in-process plugins.
  boost::asio::thread_pool* pool = nullptr;
};

/// A configuration made ready to run.
struct initialized final {
  /// With the remote server's tasks joined to the file's.
  config cfg;
  /// The remote server and the tasks it advertised; null when none is configured.
  std::shared_ptr<remote_tasks> remote;
  std::shared_ptr<const plugins::registry> plugins;
  /// One line per plugin that did not load ("<path>: <reason>").
  std::vector<std::string> plugin_errors;
  std::shared_ptr<const engine::graph> graph;
};

/// Throws config_error when the configuration or its graph is invalid
/// (including a task naming a processor no loaded plugin provides); nothing
/// is half-applied.
[[nodiscard]] initialized initialize(const initialize_options& options = {});

}  // namespace cascadence::service

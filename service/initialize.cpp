#include "service/initialize.hpp"

#include "engine/graph.hpp"
#include "plugins/registry.hpp"
#include "service/plugin_loading.hpp"
#include "service/remote_tasks.hpp"

namespace cascadence::service {

initialized initialize(const initialize_options& options) {
  const auto warn = [&](const std::string& line) {
    if (options.warn) options.warn(line);
  };
  initialized out;
  out.cfg = load_config(options.config_path);
  out.remote = discover_remote_tasks(out.cfg, warn);
  plugins::load_options load;
  load.log = options.plugin_log;
  load.pool = options.pool;
  auto plugged = load_configured_plugins(out.cfg, load);
  for (const auto& e : plugged.errors) warn("plugin not loaded: " + e);
  out.plugins = std::move(plugged.plugins);
  out.plugin_errors = std::move(plugged.errors);
  out.graph = std::make_shared<const engine::graph>(build_graph(out.cfg, *out.plugins));
  return out;
}

}  // namespace cascadence::service

#pragma once

// The plugins a configuration names ($CASCADENCE_PLUGIN_PATH, then `plugins:`), and their JSON for
// `task plugins --json` and `GET /api/v1/plugins`.

#include "plugins/registry.hpp"
#include "service/config.hpp"

#include <boost/json/value.hpp>

#include <string>
#include <vector>

namespace cascadence::service {

/// $CASCADENCE_PLUGIN_PATH's directories, then the configuration's `plugins:` entries.
[[nodiscard]] std::vector<plugins::plugin_source> plugin_sources(const config& cfg);

/// load_plugins() of plugin_sources(cfg).
[[nodiscard]] plugins::load_result load_configured_plugins(const config& cfg, const plugins::load_options& options);

/// `{"plugins": [{"name", "version", "description", "path", "sha256", "abi", "runtime", "isolation",
/// "processors": [{"name", "description", "blocking"}]}], "errors": [LINE, ...]}`.
[[nodiscard]] boost::json::value plugins_json(const plugins::registry& loaded, const std::vector<std::string>& errors);

/// `[{"change": "added|removed|reloaded", "name", "path", "old_sha256", "new_sha256"}]`.
[[nodiscard]] boost::json::value changes_json(const std::vector<plugins::plugin_change>& changes);

}  // namespace cascadence::service

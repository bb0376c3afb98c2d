#pragma once

// How an attempt of a plugin processor ends, the same for in-process and isolated plugins.

#include "engine/outcome.hpp"
#include "plugins/cascadence_plugin.h"

#include <optional>
#include <string>

namespace cascadence::plugins {

/// The outcome of an attempt the plugin completed with `status`: a failure "STATUS: error" unless OK, else
/// success with `result` parsed as JSON (null when the plugin set none; a failure naming `plugin` when the
/// text is not JSON).
[[nodiscard]] engine::outcome completed_outcome(const std::string& plugin, cascadence_status_t status,
                                                const std::optional<std::string>& result, const std::string& error);

/// The outcome of an attempt start() refused with `status`: the plugin's message, else one naming the status.
[[nodiscard]] engine::outcome refused_outcome(cascadence_status_t status, const std::string& error);

}  // namespace cascadence::plugins

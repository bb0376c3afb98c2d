#pragma once

// The configuration's tasks on Temporal: the graph whose every task starts
// its workflow (docs/temporal.md); the cluster is temporal_settings(cfg).

#include "service/config.hpp"

namespace cascadence::engine {
class graph;
}

namespace cascadence::service {

/// Every task of `cfg` as one node starting its workflow on Temporal
/// (adapters::temporal::make_workflow_processor), without edges: a task's
/// workflow runs what it depends on. The task's timeout becomes the
/// workflow's execution timeout; its retries start a new workflow.
[[nodiscard]] engine::graph build_temporal_graph(const config& cfg);

}  // namespace cascadence::service

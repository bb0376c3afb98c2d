#include "service/temporal_tasks.hpp"

#include "adapters/temporal/workflow_processor.hpp"
#include "engine/graph.hpp"

namespace cascadence::service {

engine::graph build_temporal_graph(const config& cfg) {
  const auto s = temporal_settings(cfg);
  engine::graph_builder b;
  b.reserve(cfg.tasks.size(), 0);
  for (const auto& t : cfg.tasks) {
    auto settings = t.settings;
    adapters::temporal::workflow_target target{t.name, t.workflow_type(), settings.timeout};
    // The cluster times the workflow out; the engine waits for it to say so.
    settings.timeout = std::chrono::milliseconds(0);
    (void)b.add({t.name, adapters::temporal::make_workflow_processor(s, std::move(target)), std::move(settings)});
  }
  auto built = std::move(b).build();
  if (!built) throw config_error(built.error().message);
  return std::move(built.value());
}

}  // namespace cascadence::service

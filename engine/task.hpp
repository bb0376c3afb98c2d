#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace cascadence::engine {

class processor;
class immediate_processor;

/// How a task may be started: by hand, by the cron scheduler, by a webhook;
/// `remote` is a task of a remote plugin server, started like a manual one.
enum class task_kind : std::uint8_t { manual, cron, webhook, remote };

[[nodiscard]] std::string_view to_string(task_kind kind) noexcept;
[[nodiscard]] std::optional<task_kind> parse_task_kind(std::string_view name) noexcept;

/// Retries with exponential back-off and jitter: attempt n (n >= 1) waits a
/// random time in [d/2, d] where d = min(backoff * 2^(n-1), backoff_max).
struct retry_policy final {
  unsigned retries = 0;
  std::chrono::milliseconds backoff{1000};
  std::chrono::milliseconds backoff_max{std::chrono::minutes(5)};
};

/// Per-task settings that the engine enforces.
struct task_settings final {
  std::chrono::milliseconds timeout{0};  ///< 0 means no timeout
  retry_policy retry;
  task_kind kind = task_kind::manual;
  bool enabled = true;
  std::string description;
};

/// A task as the graph builder takes it.
struct task_spec final {
  std::string name;
  std::shared_ptr<processor> proc;
  task_settings settings;
};

}  // namespace cascadence::engine

#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cascadence::scheduling {

/// What a fire does while the previous run of its task is still going.
enum class overlap_policy : std::uint8_t {
  skip,          ///< the fire is skipped (counted and logged)
  buffer_one,    ///< run once when the current run ends; further fires skipped
  buffer_all,    ///< every fire runs, one after another
  cancel_other,  ///< cancel the running one, then start
  allow_all,     ///< start anyway, runs overlap
};

[[nodiscard]] std::string_view to_string(overlap_policy p) noexcept;
[[nodiscard]] std::optional<overlap_policy> parse_overlap_policy(std::string_view name) noexcept;

/// How a schedule behaves around its fires.
struct schedule_policy final {
  overlap_policy overlap = overlap_policy::skip;
  /// A missed fire younger than this still runs (once, however many were
  /// missed); older ones are skipped and counted.
  std::chrono::milliseconds catchup_window{std::chrono::minutes(1)};
  /// A random delay up to this, never past the next nominal fire.
  std::chrono::milliseconds jitter{0};

  friend bool operator==(const schedule_policy&, const schedule_policy&) = default;
};

/// True for the keys set_policy() decodes: `overlap`, `catchup_window`, `jitter`.
[[nodiscard]] bool is_policy_key(std::string_view key) noexcept;

/// Sets the member of `policy` that `key` names from its text, spelled as
/// in the configuration, the schedules file and `task schedule`'s options.
/// Returns why the text is refused (one phrase, without position), or
/// nothing when it was applied; `policy` is unchanged on refusal.
[[nodiscard]] std::optional<std::string> set_policy(schedule_policy& policy, std::string_view key,
                                                    std::string_view text);

/// One schedule as persisted: a task, a cron expression and its policies.
struct schedule_entry final {
  std::string task;
  std::string expression;
  /// IANA zone; empty means the configuration's `timezone`.
  std::string timezone;
  schedule_policy policy;
  bool paused = false;

  /// True when the plain `task: "expr"` form says everything.
  [[nodiscard]] bool is_plain() const noexcept { return timezone.empty() && policy == schedule_policy{} && !paused; }
  friend bool operator==(const schedule_entry&, const schedule_entry&) = default;
};

}  // namespace cascadence::scheduling

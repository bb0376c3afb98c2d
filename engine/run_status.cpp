#include "engine/run_status.hpp"

#include "engine/task.hpp"

#include <array>

namespace cascadence::engine {

namespace {
constexpr std::array<std::string_view, 5> status_names{"success", "failed", "timed_out", "cancelled", "skipped"};
constexpr std::array<std::string_view, 4> kind_names{"manual", "cron", "webhook", "remote"};

template <typename Enum, std::size_t N>
std::optional<Enum> parse_enum(const std::array<std::string_view, N>& names, std::string_view text) noexcept {
  for (std::size_t i = 0; i < N; ++i) {
    if (names[i] == text) return static_cast<Enum>(i);
  }
  return std::nullopt;
}
}  // namespace

std::string_view to_string(run_status status) noexcept {
  return status_names[static_cast<std::size_t>(status)];
}

std::optional<run_status> parse_run_status(std::string_view name) noexcept {
  return parse_enum<run_status>(status_names, name);
}

std::string_view to_string(task_kind kind) noexcept {
  return kind_names[static_cast<std::size_t>(kind)];
}

std::optional<task_kind> parse_task_kind(std::string_view name) noexcept {
  return parse_enum<task_kind>(kind_names, name);
}

}  // namespace cascadence::engine

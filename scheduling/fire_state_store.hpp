#pragma once

#include "scheduling/atomic_file.hpp"

#include <chrono>
#include <filesystem>
#include <map>
#include <string>

namespace cascadence::scheduling {

/// The last nominal fire time of each schedule, so a restarted scheduler
/// never fires the same instant twice and knows what it missed. A YAML
/// mapping of task name to Unix seconds, replaced atomically on each save.
class fire_state_store final {
 public:
  using times = std::map<std::string, std::chrono::sys_seconds>;

  explicit fire_state_store(std::filesystem::path file);

  /// What is on disk (empty when the file does not exist). Throws
  /// state_error on a file that does not parse.
  [[nodiscard]] times load() const;
  /// Replaces the file with `state`, atomically; durable against a machine
  /// crash only with durability::synced (else call sync() later).
  void save(const times& state, durability d = durability::synced) const;
  /// Makes the last save survive a machine crash.
  void sync() const;

  [[nodiscard]] const std::filesystem::path& file() const noexcept { return file_; }

 private:
  std::filesystem::path file_;
};

}  // namespace cascadence::scheduling
